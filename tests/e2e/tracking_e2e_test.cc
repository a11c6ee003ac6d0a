// End to end over the real services: an in-process coordinator (gRPC + HTTP on loopback, SQLite
// on disk) and two workers speaking the WorkerService protocol, scripted so every step is
// deterministic. Worker A fine-tunes and dies (stops heartbeating) after two checkpoints; worker
// B meanwhile extracts the fanned-out circuits, then gets the fine-tune with resume_from = the
// last checkpoint, finishes it and the last extraction. The stored lineage, circuits and the
// tracking report (HTTP and the real `fcctl report --out` with its SVG files) are checked
// against the circuits the workers wrote.
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/tracking_commands.h"
#include "common/circuit/diff.h"
#include "common/circuit/json_format.h"
#include "common/circuit/selection.h"
#include "coordinator/server.h"
#include "fc/v1/experiments.grpc.pb.h"
#include "fc/v1/tracking.grpc.pb.h"
#include "tests/coordinator/coordinator_fixture.h"
#include "tests/coordinator/test_util.h"

namespace fc::coord {
namespace {

namespace pb = fc::v1;
using fc::coord::testing::Ctx;
using fc::coord::testing::ScriptedWorker;
using nlohmann::json;

constexpr const char* kQuick = R"(experiment: quick
jobs:
  data: {kind: dataset, task: add_sub}
  base: {kind: model, path: /models/base}
  before: {kind: discover, model: base, data: data.circuit, top: 10%}
  lora: {kind: finetune, model: base, data: data.ft, steps: 30, checkpoint_every: 10, retries: 2}
  track: {kind: reextract, finetune: lora, like: before}
)";

circuit::Circuit Toy(int shift) {
  circuit::GraphConfig cfg{2, 2, false};
  circuit::GraphLayout g(cfg);
  circuit::EdgeScores sc(cfg);
  for (int b = 0; b < g.n_backward(); ++b) {
    for (int f = 0; f < g.Prev(b); ++f) sc.at(f, b) = static_cast<float>((f * 7 + b * 3 + shift) % 13) + 0.5f;
  }
  auto c = circuit::MakeCircuit(std::move(sc));
  auto sel = circuit::Selection::Parse("top:8,noprune");
  EXPECT_TRUE(c.ok() && sel.ok() && circuit::Select(g, *sel, &*c).ok());
  return *c;
}

// The fixture's worker_ is worker A; worker_b_ is B, on the same channel.
class E2eTracking : public testing::CoordinatorFixture {
 protected:
  void Tune(Config* c) override {
    c->lease_ttl_ms = 1500;
    c->heartbeat_ms = 300;
    c->retry_backoff_ms = 10;
    c->retry_backoff_max_ms = 50;
  }
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CoordinatorFixture::SetUp());
    worker_b_ = std::make_unique<ScriptedWorker>(channel_);
  }
  // Any worker may complete any lease: the fence, not the connection, names the attempt.
  void Complete(const pb::LeasedJob& l, const testing::Outputs& outs, const std::string& result = "{}") {
    worker_->Complete(l, outs, result);
  }
  // Checkpoint folders exist on disk, as the engine writes them before announcing.
  grpc::Status Checkpoint(const pb::LeasedJob& l, int step, const std::string& parent) {
    const std::string path = dir_.file("ckpt-" + std::to_string(step));
    std::filesystem::create_directories(path);
    return worker_->Checkpoint(l, step, parent, path, step / 40.0, "checkpoint");
  }
  // A discover worker: writes circuit `shift` as its output folder and reports its summary.
  void Discover(const pb::LeasedJob& l, int shift) {
    const std::string folder = dir_.file("circuit-" + l.job().name());
    std::filesystem::create_directories(folder);
    circuit::Circuit c = Toy(shift);
    ASSERT_TRUE(circuit::WriteCircuitJson(c, circuit::JsonDialect::kEapOld, folder + "/circuit.json").ok());
    written_[l.job().name()] = c;
    json result = {{"nodes", c.CountNodes()}, {"edges", c.CountEdges()},
                   {"faithfulness", {{"kl_pct", 90.0 + shift}, {"normalized", 0.8}}},
                   {"accuracy", {{"clean", 0.9}, {"circuit", 0.7 + 0.01 * shift}}}};
    Complete(l, {{"circuit", folder}}, result.dump());
  }
  pb::Job GetJob(const std::string& id) {
    pb::GetJobRequest req;
    req.set_id(id);
    pb::GetJobReply reply;
    EXPECT_TRUE(exp_->GetJob(Ctx().get(), req, &reply).ok());
    return reply.job();
  }

  std::unique_ptr<ScriptedWorker> worker_b_;
  std::map<std::string, circuit::Circuit> written_;
};

TEST_F(E2eTracking, WorkerDiesMidFinetuneTrainingResumesElsewhereAndTheReportMatches) {
  pb::SubmitExperimentRequest sreq;
  sreq.set_spec(kQuick);
  pb::SubmitExperimentReply sreply;
  ASSERT_TRUE(exp_->SubmitExperiment(Ctx().get(), sreq, &sreply).ok());
  const std::string e = sreply.experiment().id();
  ScriptedWorker& a = *worker_;
  ScriptedWorker& b = *worker_b_;
  EXPECT_TRUE(a.Register("worker-a"));
  Complete(a.Take("data"), {{"ft", "/d/ft"}, {"circuit", "/d/circuit"}});
  Complete(a.Take("base"), {{"model", "/m"}});
  Discover(a.Take("before"), 0);
  pb::LeasedJob lora = a.Take("lora");
  ASSERT_TRUE(Checkpoint(lora, 10, "base").ok());
  ASSERT_TRUE(Checkpoint(lora, 20, "checkpoint-10").ok());

  // Worker B extracts while A trains; then A dies (no heartbeat, no report).
  EXPECT_TRUE(b.Register("worker-b"));
  // track@0 may already be with A (leased alongside lora): A finishes it before dying.
  const bool zero_with_a = a.Holds("track@0");
  Discover((zero_with_a ? a : b).Take("track@0"), 0);
  Discover(b.Take("track@10"), 1);
  Discover(b.Take("track@20"), 2);
  EXPECT_EQ(GetJob(e + "/lora").state(), pb::RUNNING);

  pb::LeasedJob again = b.Take("lora", 10000);  // after A's lease expired
  EXPECT_EQ(again.fence().attempt(), 2);
  json p = json::parse(again.job().params_json());
  EXPECT_EQ(p.at("resume_from"), dir_.file("ckpt-20"));
  // Like the engine, the resumed attempt re-announces the checkpoints it linked in.
  ASSERT_TRUE(Checkpoint(again, 10, "base").ok());
  ASSERT_TRUE(Checkpoint(again, 20, "checkpoint-10").ok());
  ASSERT_TRUE(Checkpoint(again, 30, "checkpoint-20").ok());
  Complete(again, {{"model", "/m2"}, {"checkpoint-10", dir_.file("ckpt-10")}, {"checkpoint-20", dir_.file("ckpt-20")},
                   {"checkpoint-30", dir_.file("ckpt-30")}});
  Discover(b.Take("track@30"), 3);

  pb::Job track = GetJob(e + "/track");
  EXPECT_EQ(track.state(), pb::SUCCEEDED);
  ASSERT_GE(track.outputs_size(), 1);
  EXPECT_EQ(track.outputs(0).name(), "last");
  EXPECT_EQ(track.outputs(0).uri(), dir_.file("circuit-track@30"));

  // Lineage: checkpoint-30 (attempt 2, on B) -> 20 -> 10 (both made by attempt 1 on A; the
  // re-announcement by attempt 2 keeps that).
  auto lin = cli::HttpGetJson(server_->http_address(), "/api/v1/lineage/" + e + "/lora/checkpoint-30", 5000);
  ASSERT_TRUE(lin.ok()) << lin.status().ToString();
  const json& chain = lin->at("lineage");
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(chain[0].at("attempt"), 2);
  EXPECT_EQ(chain[1].at("checkpoint"), e + "/lora/checkpoint-20");
  EXPECT_EQ(chain[1].at("attempt"), 1);
  EXPECT_EQ(chain[2].at("checkpoint"), e + "/lora/checkpoint-10");
  EXPECT_EQ(chain[2].at("attempt"), 1);

  // The report's diffs equal DiffCircuits of the circuits the workers wrote.
  auto rep = cli::HttpGetJson(server_->http_address(), "/api/v1/experiments/" + e + "/tracking", 5000);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  const json& pts = rep->at("tracks").at(0).at("points");
  ASSERT_EQ(pts.size(), 4u);
  circuit::GraphLayout g(written_["track@0"].cfg());
  auto base = circuit::Collapse(g, written_["track@0"]);
  for (int i = 0; i < 4; ++i) {
    const std::string name = "track@" + std::to_string(i * 10);
    auto now = circuit::Collapse(g, written_[name]);
    auto d = circuit::DiffCircuits(*base, *now);
    ASSERT_TRUE(d.ok());
    const json& got = pts[i].at("diff_base");
    ASSERT_TRUE(got.is_object()) << name << " " << rep->dump();
    EXPECT_EQ(got.at("edges_added").get<size_t>(), d->edges_added.size()) << name;
    EXPECT_EQ(got.at("edges_removed").get<size_t>(), d->edges_removed.size()) << name;
    EXPECT_DOUBLE_EQ(got.at("edge_jaccard").get<double>(), d->edge_jaccard) << name;
    EXPECT_EQ(pts[i].at("edges"), written_[name].CountEdges());
    EXPECT_EQ(pts[i].at("step"), i * 10);
  }
  EXPECT_EQ(rep->at("finetunes").at(0).at("checkpoints").size(), 3u);

  // The coordinator stored every circuit's edge scores in the background.
  for (int i = 0; i < 4; ++i) {
    const std::string id = e + "/track@" + std::to_string(i * 10);
    bool stored = false;
    for (int tries = 0; tries < 100 && !stored; ++tries) {
      auto c = cli::HttpGetJson(server_->http_address(), "/api/v1/circuits/" + id, 5000);
      stored = c.ok() && c->value("scores_stored", false);
      if (!stored) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(stored) << id;
  }

  // The gRPC TrackingService answers the same documents.
  auto tracking = pb::TrackingService::NewStub(
      grpc::CreateChannel(server_->grpc_address(), grpc::InsecureChannelCredentials()));
  pb::GetExperimentTrackingRequest treq;
  treq.set_experiment_id(e);
  pb::TrackingJsonReply treply;
  ASSERT_TRUE(tracking->GetExperimentTracking(Ctx().get(), treq, &treply).ok());
  EXPECT_EQ(json::parse(treply.json()), *rep);
  pb::GetLineageRequest lreq;
  lreq.set_checkpoint(e + "/lora/checkpoint-99");
  grpc::Status missing = tracking->GetLineage(Ctx().get(), lreq, &treply);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  pb::DiffCircuitsRequest dreq;
  dreq.set_before(e + "/track@0");
  dreq.set_after(e + "/track@30");
  ASSERT_TRUE(tracking->DiffCircuits(Ctx().get(), dreq, &treply).ok());
  EXPECT_EQ(json::parse(treply.json()).at("edges_added"), pts[3].at("diff_base").at("edges_added"));

  // The real fcctl writes the tables and the plots.
  const std::string out = dir_.file("report");
  const std::string cmd = std::string(FCCTL_BIN) + " --http " + server_->http_address() + " report " + e +
                          " --out " + out + " > " + dir_.file("report.txt") + " 2>&1";
  int rc = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << cmd;
  for (const char* f : {"report.json", "accuracy.svg", "faithfulness.svg", "circuit_size.svg", "layers_track.svg"}) {
    EXPECT_TRUE(std::filesystem::file_size(out + "/" + f) > 100) << f;
  }
  std::ifstream txt(dir_.file("report.txt"));
  std::string all((std::istreambuf_iterator<char>(txt)), std::istreambuf_iterator<char>());
  EXPECT_NE(all.find("circuit tracking track"), std::string::npos) << all;
  EXPECT_NE(all.find("checkpoint-30"), std::string::npos) << all;
}

}  // namespace
}  // namespace fc::coord
