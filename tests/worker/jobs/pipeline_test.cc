// The science kinds on tiny sizes: outputs exist and are well-formed, the chain
// dataset -> train_base -> discover -> finetune -> discover on the last checkpoint -> plan ->
// circuit_lora works in process, and a job's circuit equals the engine functions' own.
#include <algorithm>

#include "common/circuit/json_format.h"
#include "common/circuit/selection.h"
#include "jobs_test_util.h"
#include "worker/attribution/batch.h"
#include "worker/attribution/eap.h"
#include "worker/attribution/graph_of_model.h"
#include "worker/data/circuit_rows.h"
#include "worker/data/row_io.h"
#include "worker/finetune/checkpointer.h"
#include "worker/finetune/lora.h"
#include "worker/finetune/peft_io.h"
#include "worker/finetune/rank_map.h"
#include "worker/model/causal_lm.h"
#include "worker/tokenizer/tokenizer.h"

namespace fc::jobs::testing {
namespace {

void ExpectCircuitFolder(const std::string& dir) {
  auto full = circuit::ReadCircuitJson(dir + "/circuit.json");
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_FALSE(full->is_collapsed);
  const circuit::GraphLayout g(full->cfg());
  EXPECT_EQ(full->full.scores.data.size(), static_cast<size_t>(g.n_forward() * g.n_backward()));
  auto collapsed = circuit::ReadCircuitJson(dir + "/circuit_collapsed.json");
  ASSERT_TRUE(collapsed.ok()) << collapsed.status().ToString();
  EXPECT_TRUE(collapsed->is_collapsed);
  nlohmann::json s = ReadJson(dir + "/summary.json");
  EXPECT_EQ(s.at("edges").get<int64_t>(), full->full.CountEdges());
  EXPECT_EQ(s.at("nodes").get<int64_t>(), full->full.CountNodes());
  EXPECT_GT(s.at("edges").get<int64_t>(), 0);
  EXPECT_TRUE(s.at("faithfulness").contains("kl_pct"));
  EXPECT_TRUE(s.at("faithfulness").contains("normalized"));
  EXPECT_TRUE(s.at("accuracy").contains("clean"));
  EXPECT_GE(s.at("timings").at("attribution_s").get<double>(), 0.0);
  EXPECT_TRUE(s.at("model").contains("d_mlp"));
  EXPECT_TRUE(fs::exists(dir + "/circuit.dot"));
}

TEST_F(JobsTest, ChainFromDatasetToCircuitLoraMatchesTheEngine) {
  MakeDataAndBase();
  // dataset
  EXPECT_EQ(data::ReadRows(data_.Output("ft"))->size(), 120u);
  EXPECT_EQ(data::ReadRows(data_.Output("circuit"))->size(), 30u);
  EXPECT_EQ(data_.result.at("task"), "add_sub");
  // train_base
  const std::string base = base_.Output("model");
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"}) EXPECT_TRUE(fs::exists(base + "/" + f)) << f;
  EXPECT_TRUE(base_.result.contains("heldout_accuracy"));

  // discover on the base model
  Ran before = RunKind("discover", DiscoverParams(), Dir("before"));
  ASSERT_TRUE(before.status.ok()) << before.status.ToString();
  ExpectCircuitFolder(before.Output("circuit"));
  bool saw_batches = false;
  for (const auto& m : before.metrics) saw_batches = saw_batches || m.contains("batches");
  EXPECT_TRUE(saw_batches);

  // LoRA with checkpoints every 2 steps
  Ran lora = RunKind("finetune", LoraParams(), Dir("lora"));
  ASSERT_TRUE(lora.status.ok()) << lora.status.ToString();
  for (const char* o : {"model", "adapter", "checkpoints", "last", "base", "checkpoint-0", "checkpoint-2", "checkpoint-4"}) {
    EXPECT_TRUE(lora.HasOutput(o)) << o;
  }
  EXPECT_EQ(lora.outputs.front().name, "model");  // the default output comes first
  auto adapter = finetune::ReadPeftAdapter(lora.Output("adapter"));
  ASSERT_TRUE(adapter.ok()) << adapter.status().ToString();
  EXPECT_EQ(adapter->config.r, 4);
  // lineage chain base <- 0 <- 2 <- 4, and each checkpoint reported as it appeared
  std::vector<std::string> parents;
  for (const char* c : {"checkpoint-0", "checkpoint-2", "checkpoint-4"}) {
    auto info = finetune::ReadCheckpointInfo(lora.Output(c));
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    parents.push_back(info->parent);
  }
  EXPECT_EQ(parents, (std::vector<std::string>{"base", "checkpoint-0", "checkpoint-2"}));
  std::vector<int64_t> reported;
  for (const auto& m : lora.metrics) {
    if (m.contains("checkpoint")) {
      reported.push_back(m["checkpoint"]["step"].get<int64_t>());
      EXPECT_TRUE(fs::exists(m["checkpoint"]["path"].get<std::string>()));
    }
  }
  EXPECT_EQ(reported, (std::vector<int64_t>{0, 2, 4}));

  // discover on the last checkpoint (adapter merged with its own alpha/r)
  nlohmann::json after_params = DiscoverParams();
  after_params["checkpoint"] = lora.Output("last");
  Ran after = RunKind("discover", after_params, Dir("after"));
  ASSERT_TRUE(after.status.ok()) << after.status.ToString();
  ExpectCircuitFolder(after.Output("circuit"));

  // ... equals the engine functions called directly
  {
    auto model = model::LoadCausalLM(base, torch::kCPU, torch::kFloat32);
    ASSERT_TRUE(model.ok());
    ASSERT_TRUE(finetune::MergeAdapterIntoModel(**model, lora.Output("last")).ok());
    auto tok = text::Tokenizer::FromFile(base + "/tokenizer.json");
    ASSERT_TRUE(tok.ok());
    data::CircuitPromptOptions ft_format;  // discover's default prompt_format "ft": BOS + input + "\n"
    ft_format.append_newline = true;
    auto rows = data::BuildCircuitBatchRows(**tok, *data::ReadRows(data_.Output("circuit")), ft_format);
    ASSERT_TRUE(rows.ok());
    std::vector<attribution::TokenizedRow> tr;
    for (const auto& r : *rows) tr.push_back({r.clean_ids, r.corrupted_ids, r.label_id, -1});
    auto batches = attribution::MakeBatches(tr, 10, (*tok)->pad_id().value_or(0));
    ASSERT_TRUE(batches.ok());
    attribution::AttributionOptions ao;
    ao.ig_steps = 3;
    auto scores = attribution::Attribute(**model, *batches, ao);
    ASSERT_TRUE(scores.ok()) << scores.status().ToString();
    auto direct = circuit::MakeCircuit(*scores);
    ASSERT_TRUE(direct.ok());
    const circuit::GraphLayout g(scores->cfg);
    ASSERT_TRUE(circuit::Select(g, *circuit::Selection::Parse("top:20%"), &*direct).ok());
    auto job = circuit::ReadCircuitJson(after.Output("circuit") + "/circuit.json");
    ASSERT_TRUE(job.ok());
    EXPECT_EQ(job->full.edge_in, direct->edge_in);
    EXPECT_EQ(job->full.node_in, direct->node_in);
    ASSERT_EQ(job->full.scores.data.size(), direct->scores.data.size());
    for (size_t i = 0; i < direct->scores.data.size(); ++i) {
      const float a = job->full.scores.data[i], b = direct->scores.data[i];
      ASSERT_NEAR(a, b, 1e-5f * std::max(1.0f, std::abs(b))) << "edge index " << i;
    }
  }

  // CircuitLoRA plan from the two circuits, then CircuitLoRA fine-tuning with it
  Ran plan = RunKind("circuit_lora_plan", {{"base_circuit", before.Output("circuit")},
                                           {"tuned_circuit", after.Output("circuit")},
                                           {"top_k", 1}, {"r_o", 2}, {"r_c", 8}, {"alpha", 4.0}, {"alpha_c", 16.0}},
                     Dir("plan"));
  ASSERT_TRUE(plan.status.ok()) << plan.status.ToString();
  auto rank_map = finetune::ReadRankMap(plan.Output("plan"));
  ASSERT_TRUE(rank_map.ok()) << rank_map.status().ToString();
  ASSERT_EQ(rank_map->critical_layers.size(), 1u);
  const int64_t critical = rank_map->critical_layers[0];

  nlohmann::json clora_params = LoraParams();
  clora_params["method"] = "circuit_lora";
  clora_params["plan"] = plan.Output("plan");
  Ran clora = RunKind("finetune", clora_params, Dir("clora"));
  ASSERT_TRUE(clora.status.ok()) << clora.status.ToString();
  auto cadapter = finetune::ReadPeftAdapter(clora.Output("adapter"));
  ASSERT_TRUE(cadapter.ok()) << cadapter.status().ToString();
  for (const auto& [module, t] : cadapter->modules) {
    const bool in_critical = module.find("layers." + std::to_string(critical) + ".") != std::string::npos;
    EXPECT_EQ(t.A.size(0), in_critical ? 8 : 2) << module;
  }

  // evaluate both fine-tuned models on the circuit split
  for (const Ran* ft : {&lora, &clora}) {
    Ran eval = RunKind("evaluate", {{"model", ft->Output("model")}, {"data", data_.Output("circuit")}},
                       Dir("eval_" + std::to_string(ft == &lora)));
    ASSERT_TRUE(eval.status.ok()) << eval.status.ToString();
    EXPECT_EQ(eval.result.at("total").get<int64_t>(), 30);
    EXPECT_GE(eval.result.at("accuracy").get<double>(), 0.0);
    EXPECT_LE(eval.result.at("accuracy").get<double>(), 1.0);
    EXPECT_TRUE(fs::exists(eval.Output("report")));
  }

  // reextract as one job: every checkpoint of the LoRA run with `before`'s settings
  Ran track = RunKind("reextract", {{"finetune", lora.out}, {"like", before.out}}, Dir("track"));
  ASSERT_TRUE(track.status.ok()) << track.status.ToString();
  ASSERT_EQ(track.result.at("tracking").size(), 3u);
  EXPECT_EQ(track.result["tracking"][2]["step"], 4);
  ExpectCircuitFolder(track.Output("last"));
  // its last circuit is the one discover found on checkpoint-4
  auto last_a = circuit::ReadCircuitJson(track.Output("last") + "/circuit.json");
  auto last_b = circuit::ReadCircuitJson(after.Output("circuit") + "/circuit.json");
  ASSERT_TRUE(last_a.ok() && last_b.ok());
  EXPECT_EQ(last_a->full.edge_in, last_b->full.edge_in);

  // merge of the two circuits (union keeps every edge of both)
  Ran merged = RunKind("merge", {{"circuits", {before.Output("circuit"), after.Output("circuit")}}}, Dir("merge"));
  ASSERT_TRUE(merged.status.ok()) << merged.status.ToString();
  const int64_t e_before = ReadJson(before.Output("circuit") + "/summary.json").at("collapsed_edges").get<int64_t>();
  EXPECT_GE(merged.result.at("collapsed_edges").get<int64_t>(), e_before);
}

TEST_F(JobsTest, FinetuneResumesFromACheckpointToTheSameAdapter) {
  MakeDataAndBase();
  Ran full = RunKind("finetune", LoraParams(), Dir("full"));
  ASSERT_TRUE(full.status.ok()) << full.status.ToString();
  nlohmann::json p = LoraParams();
  p["resume_from"] = full.Output("checkpoint-2");
  Ran resumed = RunKind("finetune", p, Dir("resumed"));
  ASSERT_TRUE(resumed.status.ok()) << resumed.status.ToString();
  EXPECT_EQ(resumed.result.at("resumed_from_step"), 2);
  auto info = finetune::ReadCheckpointInfo(resumed.Output("checkpoint-4"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->parent, "checkpoint-2");
  auto a = finetune::ReadPeftAdapter(full.Output("adapter"));
  auto b = finetune::ReadPeftAdapter(resumed.Output("adapter"));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->modules.size(), b->modules.size());
  for (const auto& [name, t] : a->modules) {
    EXPECT_TRUE(torch::equal(t.A, b->modules.at(name).A)) << name;
    EXPECT_TRUE(torch::equal(t.B, b->modules.at(name).B)) << name;
  }
}

TEST_F(JobsTest, InputsResolveThroughDependencyOutputs) {
  MakeDataAndBase();
  std::map<std::string, agent::DependencyOutput> inputs;
  inputs["base"].outputs = base_.outputs;
  inputs["data"].outputs = data_.outputs;
  inputs["data"].result = data_.result;
  Ran r = RunKind("discover", {{"model", "base"}, {"data", "data.circuit"}, {"ig_steps", 2}, {"top", "30"}},
                  Dir("disc"), inputs);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(ReadJson(r.Output("circuit") + "/summary.json").at("examples"), 30);
  // a reference to an output the dependency does not have is an error, not a silent fallback
  Ran bad = RunKind("discover", {{"model", "base"}, {"data", "data.nope"}}, Dir("bad"), inputs);
  EXPECT_FALSE(bad.status.ok());
}

TEST_F(JobsTest, RobustnessAndModelKinds) {
  MakeDataAndBase();
  Ran rob = RunKind("robustness", {{"model", base_.Output("model")}, {"data", data_.Output("circuit")},
                                   {"levels", {50}}, {"seeds", 1}, {"splits", 2}},
                    Dir("rob"));
  ASSERT_TRUE(rob.status.ok()) << rob.status.ToString();
  const auto& lvl = rob.result.at("perturbation").at(0);
  EXPECT_EQ(lvl.at("level"), 50);
  EXPECT_GE(lvl.at("jaccard_mean").get<double>(), 0.0);
  EXPECT_LE(lvl.at("jaccard_mean").get<double>(), 1.0);
  EXPECT_EQ(rob.result.at("splits").at("matrix").size(), 2u);

  Ran model = RunKind("model", {{"path", base_.Output("model")}}, Dir("model"));
  ASSERT_TRUE(model.status.ok()) << model.status.ToString();
  EXPECT_TRUE(fs::exists(model.Output("model") + "/config.json"));
  EXPECT_TRUE(fs::exists(model.Output("model") + "/tokenizer.json"));
  EXPECT_GT(model.result.at("parameters").get<int64_t>(), 0);
}

TEST_F(JobsTest, BadParamsAreInvalidArgumentNamingTheParam) {
  MakeDataAndBase();
  struct Case {
    std::string kind;
    nlohmann::json params;
    std::string param;
  };
  nlohmann::json ig0 = DiscoverParams();
  ig0["ig_steps"] = 0;
  nlohmann::json no_model = DiscoverParams();
  no_model["model"] = Dir("does-not-exist");
  nlohmann::json adapter_as_model = LoraParams();
  adapter_as_model["model"] = data_.Output("circuit");
  const std::vector<Case> cases = {
      {"discover", ig0, "ig_steps"},
      {"discover", no_model, "model"},
      {"finetune", adapter_as_model, "model"},
      {"model", {{"path", Dir("data")}}, "path"},
      {"dataset", {{"task", "add_sub"}, {"circuit_fraction", 1.5}}, "circuit_fraction"},
      {"circuit_lora_plan", {{"base_circuit", data_.Output("ft")}, {"tuned_circuit", data_.Output("ft")}}, "base_circuit"},
      {"evaluate", {{"model", base_.Output("model")}, {"data", Dir("missing.jsonl")}}, "data"},
  };
  for (const auto& c : cases) {
    Ran r = RunKind(c.kind, c.params, Dir("bad_" + c.param));
    EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument) << c.kind << ": " << r.status.ToString();
    EXPECT_NE(r.status.message().find("'" + c.param + "'"), std::string::npos) << c.kind << ": " << r.status.message();
  }
}

}  // namespace
}  // namespace fc::jobs::testing
