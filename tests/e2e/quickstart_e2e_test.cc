// The reduced quickstart (tests/e2e/reduced_quickstart.h) end to end on real processes: one
// fc-coordinator and two fc-worker processes running the LibTorch engine, one slot each so the
// work spreads over both. Checked against what the coordinator stored (job and attempt rows,
// checkpoints, circuits, lineage, the tracking report through the real fcctl) and against the
// engine run directly (`fc-worker run discover` on the store's copies of the inputs, with the
// job's own params: the same circuit, edge for edge). The second test SIGKILLs the worker
// running the LoRA fine-tune after it reported a checkpoint: the other worker resumes from that
// checkpoint, every re-extraction completes, and the finished run has the same structure.
#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/engine_cluster_test.h"
#include "tests/e2e/reduced_quickstart.h"
#include "tests/e2e/store_files.h"

namespace fc::e2e {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

json ReadJsonFile(const std::string& path) {
  std::ifstream f(path);
  json j = json::parse(f, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << path << " is missing or not JSON";
  return j;
}

double Num(const json& j) { return j.is_number() ? j.get<double>() : NAN; }

// A job's validated params as `fc-worker run --param` values, without the references in `refs`
// (the caller passes local copies of those) and without empty ones.
std::map<std::string, std::string> PlainParams(const v1::Job& j, const std::set<std::string>& refs) {
  std::map<std::string, std::string> p;
  const json params = json::parse(j.params_json());
  for (const auto& [k, v] : params.items()) {
    if (refs.count(k) || v.is_null() || (v.is_string() && v.get<std::string>().empty())) continue;
    p[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  return p;
}

bool SameBytes(const std::string& a, const std::string& b) {
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  if (!fa || !fb) return false;
  return std::string(std::istreambuf_iterator<char>(fa), {}) == std::string(std::istreambuf_iterator<char>(fb), {});
}

class QuickstartE2e : public EngineClusterTest {
 protected:
  std::string SubmitQuickstart() {
    std::string err;
    std::string id = cluster_->Submit(ReducedQuickstartYaml(), &err);
    EXPECT_NE(id, "") << err;
    return id;
  }

  // Waits for the run to end; checks every job succeeded and what the DAG implies for the
  // stored circuits, checkpoints, lineage and the tracking report. Returns the final reply.
  v1::GetExperimentReply CheckFinishedRun(const std::string& exp) {
    v1::GetExperimentReply r = cluster_->WaitExperimentDone(exp, 300s);
    std::string states;
    for (const v1::Job& j : r.jobs()) states += j.name() + "=" + v1::JobState_Name(j.state()) + " " + j.error() + "\n";
    EXPECT_EQ(r.experiment().state(), v1::EXP_SUCCEEDED) << states;
    if (r.experiment().state() != v1::EXP_SUCCEEDED) return r;
    std::set<std::string> names;
    for (const v1::Job& j : r.jobs()) {
      names.insert(j.name());
      EXPECT_EQ(j.state(), v1::SUCCEEDED) << j.name();
    }
    EXPECT_EQ(names, ExpectedJobNames());

    // circuits: `before` (not a tracked checkpoint) + one row per checkpoint step.
    const std::vector<int> steps = LoraCheckpointSteps();
    auto rows = store().Query(
        "SELECT id, step, checkpoint, n_nodes, n_edges, summary_json FROM circuits WHERE experiment_id = ?1 "
        "ORDER BY step",
        {exp});
    EXPECT_EQ(store().error(), "");
    std::vector<int> circuit_steps;
    std::map<int, Row> by_step;
    for (const Row& c : rows) {
      int step = std::stoi(c.at("step"));
      if (step < 0) {
        EXPECT_EQ(c.at("id"), exp + "/before");
        continue;
      }
      circuit_steps.push_back(step);
      by_step[step] = c;
      EXPECT_EQ(c.at("id"), exp + "/track@" + std::to_string(step));
      EXPECT_GT(std::stoi(c.at("n_nodes")), 0) << c.at("id");
      EXPECT_GT(std::stoi(c.at("n_edges")), 0) << c.at("id");
      json summary = json::parse(c.at("summary_json"), nullptr, false);
      EXPECT_TRUE(summary.is_object() && summary.contains("faithfulness") &&
                  summary.at("faithfulness").at("kl_pct").is_number())
          << c.at("id") << ": " << c.at("summary_json");
      if (step > 0) {
        EXPECT_EQ(c.at("checkpoint"), exp + "/lora/checkpoint-" + std::to_string(step));
      }
    }
    EXPECT_EQ(circuit_steps, steps);
    EXPECT_EQ(rows.size(), steps.size() + 1);

    // checkpoints of lora, and the lineage of the last one down to the base model.
    auto ckpts = store().Query("SELECT step FROM checkpoints WHERE job_id = ?1 ORDER BY step", {exp + "/lora"});
    std::vector<int> ckpt_steps;
    for (const Row& c : ckpts) ckpt_steps.push_back(std::stoi(c.at("step")));
    EXPECT_EQ(ckpt_steps, steps);
    json lin = FcctlJson({"lineage", exp + "/lora/checkpoint-" + std::to_string(kLoraSteps)});
    if (lin.is_object()) {
      const json& chain = lin.at("lineage");
      std::vector<int> chain_steps;
      for (size_t i = 0; i < chain.size(); ++i) {
        chain_steps.push_back(chain[i].at("step").get<int>());
        if (i + 1 < chain.size()) {
          EXPECT_EQ(exp + "/lora/" + chain[i].at("parent").get<std::string>(), chain[i + 1].at("checkpoint").get<std::string>());
        }
      }
      EXPECT_EQ(chain_steps, std::vector<int>(steps.rbegin(), steps.rend())) << lin.dump();
      if (!chain.empty()) {
        EXPECT_EQ(chain.back().at("parent"), "base") << lin.dump();
      }
    }

    // The report: accuracy per checkpoint, faithfulness and size per tracked circuit (= the
    // circuits rows), both evaluations.
    json rep = FcctlJson({"report", exp});
    if (!rep.is_object()) return r;
    bool saw_lora = false;
    for (const json& f : rep.at("finetunes")) {
      if (f.at("job") != "lora") continue;
      saw_lora = true;
      std::vector<int> s;
      for (const json& c : f.at("checkpoints")) {
        s.push_back(c.at("step").get<int>());
        EXPECT_TRUE(c.at("accuracy").is_number()) << c.dump();
        EXPECT_TRUE(c.at("loss").is_number()) << c.dump();
      }
      EXPECT_EQ(s, steps);
    }
    EXPECT_TRUE(saw_lora) << rep.dump();
    EXPECT_EQ(rep.at("tracks").size(), 1u) << rep.dump();
    if (rep.at("tracks").size() == 1) {
      const json& pts = rep.at("tracks")[0].at("points");
      std::vector<int> s;
      for (const json& p : pts) {
        int step = p.at("step").get<int>();
        s.push_back(step);
        if (!by_step.count(step)) continue;
        EXPECT_EQ(p.at("edges").get<int64_t>(), std::stoll(by_step[step].at("n_edges"))) << step;
        EXPECT_EQ(p.at("nodes").get<int64_t>(), std::stoll(by_step[step].at("n_nodes"))) << step;
        json summary = json::parse(by_step[step].at("summary_json"));
        EXPECT_DOUBLE_EQ(Num(p.at("faithfulness_kl_pct")), Num(summary.at("faithfulness").at("kl_pct"))) << step;
        EXPECT_TRUE(p.at("circuit_accuracy").is_number()) << p.dump();
      }
      EXPECT_EQ(s, steps);
      ExpectDiffsMatchStoredCircuits(exp, pts);
    }
    std::set<std::string> evaluated;
    for (const json& e : rep.at("evaluations")) {
      evaluated.insert(e.at("job").get<std::string>());
      EXPECT_TRUE(e.at("accuracy").is_number()) << e.dump();
    }
    EXPECT_EQ(evaluated, (std::set<std::string>{"eval_base", "eval_lora", "eval_clora"})) << rep.dump();
    return r;
  }

  // The in-circuit edges (q/k/v collapsed) of discover job `job`'s circuit as stored.
  std::set<std::string> StoredCollapsedEdges(const std::string& exp, const std::string& job) {
    std::string err;
    const std::string dir =
        RebuildFromStore(artifacts_dir(), OutputUri(exp, job, "circuit"), cluster_->dir() + "/stored-" + job, &err);
    EXPECT_NE(dir, "") << err;
    std::set<std::string> out;
    json c = ReadJsonFile(dir + "/circuit_collapsed.json");
    if (!c.contains("edges")) return out;
    for (const auto& [name, e] : c.at("edges").items()) {
      if (!e.is_object() || e.value("in_graph", true)) out.insert(name);
    }
    return out;
  }

  // The report's edge diffs (vs the base checkpoint and vs the previous one) are those of the
  // circuits the workers stored, computed here from their collapsed files.
  void ExpectDiffsMatchStoredCircuits(const std::string& exp, const json& points) {
    std::vector<std::set<std::string>> edges;
    for (const json& p : points) edges.push_back(StoredCollapsedEdges(exp, "track@" + std::to_string(p.at("step").get<int>())));
    auto check = [&](const json& d, const std::set<std::string>& from, const std::set<std::string>& to,
                     const std::string& what) {
      ASSERT_TRUE(d.is_object()) << what << ": no diff in the report";
      size_t added = 0, removed = 0, both = 0;
      for (const auto& e : to) added += from.count(e) ? 0 : 1;
      for (const auto& e : from) {
        removed += to.count(e) ? 0 : 1;
        both += to.count(e);
      }
      EXPECT_EQ(d.at("edges_added").get<size_t>(), added) << what;
      EXPECT_EQ(d.at("edges_removed").get<size_t>(), removed) << what;
      const double jaccard = static_cast<double>(both) / static_cast<double>(from.size() + to.size() - both);
      EXPECT_NEAR(d.at("edge_jaccard").get<double>(), jaccard, 1e-9) << what;
    };
    for (size_t i = 0; i < points.size(); ++i) {
      const std::string step = std::to_string(points[i].at("step").get<int>());
      check(points[i].at("diff_base"), edges[0], edges[i], "step " + step + " diff_base");
      if (i > 0) check(points[i].at("diff_prev"), edges[i - 1], edges[i], "step " + step + " diff_prev");
    }
  }

  // Runs discover job `job` again with `fc-worker run` on the artifact store's copies of its
  // inputs (base.model, data.circuit and, for a tracked checkpoint, lora's `checkpoint_output`)
  // and the job's own validated params; the circuit the coordinator stored must be the same.
  void ExpectSameAsDirectDiscover(const std::string& exp, const std::string& job,
                                  const std::string& checkpoint_output) {
    v1::Job j = GetJobByName(exp, job);
    ASSERT_EQ(j.state(), v1::SUCCEEDED) << job;
    const std::string work = cluster_->dir() + "/direct-" + job;
    std::string err;
    std::map<std::string, std::string> p = PlainParams(j, {"model", "data", "checkpoint"});
    p["model"] = RebuildFromStore(artifacts_dir(), OutputUri(exp, "base", "model"), work + "/model", &err);
    ASSERT_NE(p["model"], "") << err;
    p["data"] = RebuildFromStore(artifacts_dir(), OutputUri(exp, "data", "circuit"), work + "/data", &err);
    ASSERT_NE(p["data"], "") << err;
    if (!checkpoint_output.empty()) {
      p["checkpoint"] = RebuildFromStore(artifacts_dir(), OutputUri(exp, "lora", checkpoint_output), work + "/ckpt", &err);
      ASSERT_NE(p["checkpoint"], "") << err;
    }
    ASSERT_EQ(RunLocal("discover", p, work + "/out"), 0);
    const std::string stored = RebuildFromStore(artifacts_dir(), OutputUri(exp, job, "circuit"), work + "/stored", &err);
    ASSERT_NE(stored, "") << err;

    // Same graph, same in-circuit edges, same scores (one OpenMP thread on the same CPU build:
    // the attribution is deterministic; the tolerance only allows for summation order).
    json a = ReadJsonFile(stored + "/circuit.json");
    json b = ReadJsonFile(work + "/out/circuit/circuit.json");
    ASSERT_TRUE(a.contains("edges") && b.contains("edges"));
    EXPECT_EQ(a.at("cfg"), b.at("cfg"));
    ASSERT_EQ(a.at("edges").size(), b.at("edges").size());
    int in_graph = 0, mismatched = 0;
    double max_diff = 0;
    for (const auto& [name, e] : a.at("edges").items()) {
      ASSERT_TRUE(b.at("edges").contains(name)) << job << ": edge " << name << " missing from the direct run";
      const json& f = b.at("edges").at(name);
      in_graph += e.at("in_graph").get<bool>() ? 1 : 0;
      mismatched += e.at("in_graph") != f.at("in_graph") ? 1 : 0;
      double x = Num(e.at("score")), y = Num(f.at("score"));
      if (!std::isnan(x) || !std::isnan(y)) max_diff = std::max(max_diff, std::abs(x - y) / std::max(1e-3, std::abs(x)));
    }
    EXPECT_GT(in_graph, 0) << job;
    EXPECT_EQ(mismatched, 0) << job << ": in-circuit edges differ from the engine run directly";
    EXPECT_LE(max_diff, 1e-4) << job << ": edge scores differ from the engine run directly";
    RecordProperty(job + "_max_rel_score_diff", std::to_string(max_diff));

    // The stored summary numbers are the engine's.
    json direct = ReadJsonFile(work + "/out/circuit/summary.json");
    auto rows = store().Query("SELECT n_nodes, n_edges, summary_json FROM circuits WHERE id = ?1", {exp + "/" + job});
    ASSERT_EQ(rows.size(), 1u) << store().error();
    EXPECT_EQ(std::stoll(rows[0].at("n_edges")), direct.at("edges").get<int64_t>()) << job;
    EXPECT_EQ(std::stoll(rows[0].at("n_nodes")), direct.at("nodes").get<int64_t>()) << job;
    EXPECT_EQ(in_graph, direct.at("edges").get<int>()) << job;
    json summary = json::parse(rows[0].at("summary_json"));
    for (const char* k : {"kl_pct", "normalized"}) {
      EXPECT_NEAR(Num(summary.at("faithfulness").at(k)), Num(direct.at("faithfulness").at(k)),
                  1e-4 * std::max(1.0, std::abs(Num(direct.at("faithfulness").at(k)))))
          << job << " faithfulness." << k;
    }
    for (const char* k : {"clean", "corrupted", "circuit"}) {
      EXPECT_DOUBLE_EQ(Num(summary.at("accuracy").at(k)), Num(direct.at("accuracy").at(k))) << job << " accuracy." << k;
    }
  }
};

TEST_F(QuickstartE2e, TwoEngineWorkersRunTheReducedQuickstartAndMatchTheEngineRunDirectly) {
  StartCluster({"w1", "w2"});
  // Through the real fcctl: submit the file, watch it to the end (exit 0 = succeeded).
  const std::string yaml = cluster_->dir() + "/quickstart.yaml";
  std::ofstream(yaml) << ReducedQuickstartYaml();
  itest::CommandResult sub = cluster_->Fcctl({"submit", yaml});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
  const std::string exp = sub.out.substr(0, sub.out.find_last_not_of(" \n") + 1);
  ASSERT_NE(exp, "");
  itest::CommandResult watch = cluster_->Fcctl({"watch", exp}, 300s);
  EXPECT_EQ(watch.exit_code, 0) << watch.out << watch.err;
  v1::GetExperimentReply r = CheckFinishedRun(exp);
  ASSERT_EQ(r.experiment().state(), v1::EXP_SUCCEEDED);

  // Both workers ran jobs (the coordinator runs `track` itself).
  std::map<std::string, std::string> names = WorkerNames();
  std::set<std::string> ran;
  for (const v1::Job& j : r.jobs()) {
    if (j.kind() != "reextract") ran.insert(names.count(j.worker_id()) ? names[j.worker_id()] : j.worker_id());
  }
  EXPECT_EQ(ran, (std::set<std::string>{"w1", "w2"}));

  ExpectSameAsDirectDiscover(exp, "before", "");
  ExpectSameAsDirectDiscover(exp, "track@" + std::to_string(kLoraSteps), "checkpoint-" + std::to_string(kLoraSteps));

  // evaluate of the LoRA model, run directly on the stored final weights, gives the stored result.
  v1::Job eval = GetJobByName(exp, "eval_lora");
  const std::string work = cluster_->dir() + "/direct-eval_lora";
  std::string err;
  std::map<std::string, std::string> p = PlainParams(eval, {"model", "data"});
  p["model"] = RebuildFromStore(artifacts_dir(), OutputUri(exp, "lora", "model"), work + "/model", &err);
  ASSERT_NE(p["model"], "") << err;
  p["data"] = RebuildFromStore(artifacts_dir(), OutputUri(exp, "data", "circuit"), work + "/data", &err);
  ASSERT_NE(p["data"], "") << err;
  ASSERT_EQ(RunLocal("evaluate", p, work + "/out"), 0);
  json direct = ReadJsonFile(work + "/out/result.json").value("result", json::object());
  json stored = json::parse(eval.result_json());
  for (const char* k : {"correct", "total"}) EXPECT_EQ(stored.at(k), direct.at(k)) << k;
  for (const char* k : {"accuracy", "loss"}) EXPECT_DOUBLE_EQ(Num(stored.at(k)), Num(direct.at(k))) << k;

  // The coordinator read every tracked circuit's blob output and stored its edge scores.
  for (int step : LoraCheckpointSteps()) {
    const std::string id = exp + "/track@" + std::to_string(step);
    bool stored_scores = itest::Cluster::WaitFor([&] {
      itest::CommandResult c = cluster_->Fcctl({"--http", http_address(), "circuit", "show", id, "-o", "json"});
      json j = json::parse(c.out, nullptr, false);
      return c.exit_code == 0 && j.is_object() && j.value("scores_stored", false);
    }, 20s);
    EXPECT_TRUE(stored_scores) << id;
  }
}

TEST_F(QuickstartE2e, WorkerKilledMidFinetuneIsResumedFromItsCheckpointAndTheRunCompletes) {
  StartCluster({"w1", "w2"});
  const std::string exp = SubmitQuickstart();
  ASSERT_NE(exp, "");
  const std::string lora_id = exp + "/lora";

  // Kill the fine-tuning worker as soon as it has reported a checkpoint past step 0.
  auto reported_step = [&](const std::string& extra) {
    auto rows = store().Query("SELECT max(step) AS s FROM checkpoints WHERE job_id = ?1" + extra, {lora_id});
    return rows.empty() || rows[0].at("s").empty() ? -1 : std::stoi(rows[0].at("s"));
  };
  ASSERT_TRUE(itest::Cluster::WaitFor([&] { return reported_step("") >= kCheckpointEvery; }, 240s))
      << "lora reported no checkpoint past step 0";
  v1::Job lora = GetJobByName(exp, "lora");
  ASSERT_EQ(lora.state(), v1::RUNNING) << "lora ended before it could be killed; lengthen it";
  std::map<std::string, std::string> names = WorkerNames();
  const std::string victim = names[lora.worker_id()];
  ASSERT_TRUE(victim == "w1" || victim == "w2") << lora.worker_id();
  const std::string survivor = victim == "w1" ? "w2" : "w1";
  cluster_->worker(victim).Signal(SIGKILL);
  ASSERT_EQ(cluster_->worker(victim).Wait(5s), 128 + SIGKILL);
  // A report the coordinator received just before the kill commits within milliseconds; the
  // job is re-leased only after the lease TTL (1.5 s).
  std::this_thread::sleep_for(300ms);
  const int killed_at = reported_step(" AND attempt = 1");
  ASSERT_GE(killed_at, kCheckpointEvery);
  ASSERT_LT(killed_at, kLoraSteps);

  v1::GetExperimentReply r = CheckFinishedRun(exp);
  ASSERT_EQ(r.experiment().state(), v1::EXP_SUCCEEDED);

  // The survivor finished lora in a later attempt, resumed from the last reported checkpoint.
  lora = GetJobByName(exp, "lora");
  EXPECT_GE(lora.attempt(), 2);
  EXPECT_EQ(names[lora.worker_id()], survivor);
  json result = json::parse(lora.result_json());
  EXPECT_EQ(result.at("resumed_from_step").get<int>(), killed_at) << lora.result_json();
  EXPECT_EQ(result.at("total_steps").get<int>(), kLoraSteps) << lora.result_json();
  auto attempts = store().Query("SELECT attempt, worker_id FROM attempts WHERE job_id = ?1 ORDER BY lease_epoch", {lora_id});
  ASSERT_GE(attempts.size(), 2u) << store().error();
  EXPECT_EQ(names[attempts.front().at("worker_id")], victim);
  EXPECT_EQ(names[attempts.back().at("worker_id")], survivor);
  // Checkpoints after the kill were reported by the resumed attempt; the earlier ones keep
  // attempt 1, which made them (the resumed attempt re-announces those it linked in).
  for (const Row& c : store().Query("SELECT step, attempt FROM checkpoints WHERE job_id = ?1", {lora_id})) {
    int step = std::stoi(c.at("step"));
    EXPECT_EQ(std::stoi(c.at("attempt")), step > killed_at ? lora.attempt() : 1) << "checkpoint " << step;
  }

  // Identical results: the same fine-tune run directly by the engine, uninterrupted, on the
  // store's copies of its inputs, gives the same adapter weights at every checkpoint (resume is
  // bit-for-bit on the CPU).
  const std::string work = cluster_->dir() + "/direct-lora";
  std::string err;
  std::map<std::string, std::string> p = PlainParams(lora, {"model", "data", "eval_data", "resume_from"});
  p["model"] = RebuildFromStore(artifacts_dir(), OutputUri(exp, "base", "model"), work + "/model", &err);
  ASSERT_NE(p["model"], "") << err;
  p["data"] = RebuildFromStore(artifacts_dir(), OutputUri(exp, "data", "ft"), work + "/data", &err);
  ASSERT_NE(p["data"], "") << err;
  p["eval_data"] = RebuildFromStore(artifacts_dir(), OutputUri(exp, "data", "circuit"), work + "/data", &err);
  ASSERT_NE(p["eval_data"], "") << err;
  ASSERT_EQ(RunLocal("finetune", p, work + "/out"), 0);
  for (int step : LoraCheckpointSteps()) {
    const std::string name = "checkpoint-" + std::to_string(step);
    const std::string stored = RebuildFromStore(artifacts_dir(), OutputUri(exp, "lora", name), work + "/" + name, &err);
    ASSERT_NE(stored, "") << err;
    for (const char* f : {"adapter_model.safetensors", "trainer_state.json"}) {
      EXPECT_TRUE(SameBytes(stored + "/" + f, work + "/out/checkpoints/" + name + "/" + f))
          << name << "/" << f << " of the resumed run differs from the uninterrupted engine run";
    }
  }
  // The killed worker never finished it.
  for (const std::string& f : ResultFiles(victim)) {
    EXPECT_EQ(f.find("/lora/attempt-"), std::string::npos) << f;
  }
}

}  // namespace
}  // namespace fc::e2e
