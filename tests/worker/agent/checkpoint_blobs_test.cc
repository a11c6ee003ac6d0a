// Checkpoints travel as blobs between hosts: the real coordinator (fc::coord::Server with an
// artifact store, loopback gRPC) and real agents, each with its own work dir and cache (as on
// separate hosts), running small test executors under the science kinds' names.
//   A (dataset, model, finetune) trains attempt 1: two checkpoints announced as progress, then
//     the attempt fails. The agent uploads each checkpoint before announcing it, so the
//     coordinator's checkpoints rows hold blob uris whose trees are the folders' files.
//   B (discover) runs the fan-out children: their `checkpoint` param arrives as a blob uri and
//     the executor sees a local folder with the same files; the child created after the
//     finetune job succeeded gets the checkpoint as an input instead.
//   C (finetune) runs attempt 2 after A is gone: resume_from and every earlier checkpoint arrive
//     as blob uris and the executor sees resume_from as a local checkpoint-<step> folder with its
//     earlier sibling next to it (what finetune's SeedFromCheckpoint links).
//   A corrupt checkpoint blob in the store fails the child with DATA_LOSS before it runs.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include <nlohmann/json.hpp>

#include "coordinator/server.h"
#include "coordinator/store/job_store.h"
#include "coordinator/store/store.h"
#include "coordinator/tracking/tracking_store.h"
#include "fc/v1/experiments.grpc.pb.h"
#include "tests/coordinator/artifacts/test_files.h"
#include "worker/agent/agent.h"
#include "worker/transfer/artifact_client.h"
#include "worker/transfer/artifact_uri.h"

namespace fc::agent {
namespace {

namespace fs = std::filesystem;
namespace pb = ::fc::v1;
using namespace std::chrono_literals;
using artifacts::testing::FlipByte;
using artifacts::testing::RandomBytes;
using artifacts::testing::ReadFile;
using artifacts::testing::TempDir;
using artifacts::testing::WriteFile;
using nlohmann::json;

constexpr int kAdapterBytes = 40000;

// The adapter file of checkpoint `step`: the same bytes wherever it is written or read.
std::string AdapterBytes(int64_t step) { return RandomBytes(kAdapterBytes, static_cast<uint32_t>(step)); }
uint64_t Digest(const std::string& bytes) { return std::hash<std::string>{}(bytes); }

// What a checkpoint folder at `dir` holds, as {step, adapter digest} (null fields when missing).
json DescribeCheckpoint(const std::string& dir) {
  json d = {{"dir", dir}, {"is_dir", fs::is_directory(dir)}};
  if (fs::is_regular_file(dir + "/checkpoint.json")) {
    d["step"] = json::parse(ReadFile(dir + "/checkpoint.json")).at("step");
  }
  if (fs::is_regular_file(dir + "/adapter_model.safetensors")) {
    d["adapter"] = Digest(ReadFile(dir + "/adapter_model.safetensors"));
  }
  return d;
}

void WriteCheckpoint(const std::string& dir, int64_t step, const std::string& parent) {
  WriteFile(dir + "/checkpoint.json", json{{"step", step}, {"parent", parent}}.dump());
  WriteFile(dir + "/adapter_model.safetensors", AdapterBytes(step));
}

class OutputsExecutor : public Executor {
 public:
  explicit OutputsExecutor(std::vector<std::string> names) : names_(std::move(names)) {}
  Status Run(JobContext& ctx) override {
    for (const std::string& n : names_) {
      WriteFile(ctx.output_dir() + "/" + n + ".txt", ctx.job_id() + " " + n);
      ctx.AddOutput({n, "", 0, "file", ctx.output_dir() + "/" + n + ".txt"});
    }
    return Status::OK();
  }

 private:
  std::vector<std::string> names_;
};

// finetune. Without resume_from (attempt 1): checkpoints 10 and 20, each announced as soon as it
// is on disk, then a retryable failure (the worker "dies"). With resume_from: records what it was
// given and finishes with checkpoint 30 as an output only (so its fan-out child is created after
// the job succeeded).
class TrainerExecutor : public Executor {
 public:
  Status Run(JobContext& ctx) override {
    const std::string ckpts = ctx.output_dir() + "/checkpoints";
    if (!ctx.params().contains("resume_from")) {
      std::string parent = "base";
      for (int64_t step : {10, 20}) {
        const std::string name = "checkpoint-" + std::to_string(step);
        WriteCheckpoint(ckpts + "/" + name, step, parent);
        ctx.ReportProgress(0.1 * step / 10, "checkpoint " + name,
                           {{"checkpoint", {{"step", step}, {"path", ckpts + "/" + name}, {"parent", parent},
                                            {"name", name}, {"loss", 1.0 / step}, {"method", "lora"}}}});
        parent = name;
      }
      return UnavailableError("simulated loss of the worker after checkpoint-20");
    }
    const std::string from = ctx.params().at("resume_from").get<std::string>();
    json seen = {{"params", ctx.params()}, {"resume_from", DescribeCheckpoint(from)}, {"siblings", json::object()}};
    for (const auto& e : fs::directory_iterator(fs::path(from).parent_path())) {
      seen["siblings"][e.path().filename().string()] = DescribeCheckpoint(e.path().string());
    }
    WriteCheckpoint(ckpts + "/checkpoint-30", 30, "checkpoint-20");
    ctx.AddOutput({"checkpoints", "", 0, "checkpoints", ckpts});
    ctx.AddOutput({"checkpoint-30", "", 0, "checkpoint", ckpts + "/checkpoint-30"});
    ctx.SetResult(seen);
    return Status::OK();
  }
};

// finetune: announces one checkpoint the store refuses (it holds a symlink to a directory), then
// succeeds.
class UnuploadableCheckpointExecutor : public Executor {
 public:
  Status Run(JobContext& ctx) override {
    const std::string dir = ctx.output_dir() + "/checkpoints/checkpoint-10";
    WriteCheckpoint(dir, 10, "base");
    fs::create_directory_symlink(ctx.output_dir(), dir + "/loop");
    ctx.ReportProgress(0.5, "checkpoint", {{"checkpoint", {{"step", 10}, {"path", dir}, {"name", "checkpoint-10"}}}});
    return Status::OK();
  }
};

// discover: reports what its `checkpoint` param (a path, or the name of an input) points at.
class InspectExecutor : public Executor {
 public:
  explicit InspectExecutor(std::atomic<int>* runs) : runs_(runs) {}
  Status Run(JobContext& ctx) override {
    runs_->fetch_add(1);
    json seen = {{"params", ctx.params()}};
    if (ctx.params().contains("checkpoint")) {
      const std::string ck = ctx.params().at("checkpoint").get<std::string>();
      auto in = ctx.inputs().find(ck);
      const std::string path = in != ctx.inputs().end() ? in->second.outputs.at(0).uri : ck;
      seen["checkpoint"] = DescribeCheckpoint(path);
      seen["via_input"] = in != ctx.inputs().end();
    }
    WriteFile(ctx.output_dir() + "/circuit.json", "{}");
    ctx.AddOutput({"circuit", "", 0, "circuit", ctx.output_dir() + "/circuit.json"});
    ctx.SetResult(seen);
    return Status::OK();
  }

 private:
  std::atomic<int>* runs_;
};

constexpr const char* kSpec = R"(experiment: ckblobs
jobs:
  data: {kind: dataset, task: add_sub}
  base: {kind: model, path: /models/base}
  before: {kind: discover, model: base, data: data.circuit, retries: 0}
  lora: {kind: finetune, model: base, data: data.ft, steps: 30, checkpoint_every: 10, retries: 2}
  track: {kind: reextract, finetune: lora, like: before, include_base: false}
)";

class CheckpointBlobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    coord::Config c;
    c.db_path = dir_.file("coord.db");
    c.artifacts_dir = dir_.file("artifacts");
    c.lease_ttl_ms = 5000;
    c.heartbeat_ms = 200;
    // Long enough that the test stops worker A before the failed attempt is retried.
    c.retry_backoff_ms = 1500;
    c.retry_backoff_max_ms = 1500;
    auto s = coord::Server::Start(c);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    channel_ = grpc::CreateChannel(server_->grpc_address(), grpc::InsecureChannelCredentials());

    auto reg = [](ExecutorRegistry& r, const std::string& kind, ExecutorRegistry::Factory f) {
      ASSERT_TRUE(r.Register(kind, std::move(f)).ok());
    };
    reg(trainer_a_, "dataset", [] { return std::make_unique<OutputsExecutor>(std::vector<std::string>{"ft", "circuit"}); });
    reg(trainer_a_, "model", [] { return std::make_unique<OutputsExecutor>(std::vector<std::string>{"model"}); });
    reg(trainer_a_, "finetune", [] { return std::make_unique<TrainerExecutor>(); });
    reg(extractor_, "discover", [this] { return std::make_unique<InspectExecutor>(&discover_runs_); });
    reg(trainer_c_, "finetune", [] { return std::make_unique<TrainerExecutor>(); });
    reg(refused_, "dataset", [] { return std::make_unique<OutputsExecutor>(std::vector<std::string>{"ft", "circuit"}); });
    reg(refused_, "model", [] { return std::make_unique<OutputsExecutor>(std::vector<std::string>{"model"}); });
    reg(refused_, "finetune", [] { return std::make_unique<UnuploadableCheckpointExecutor>(); });
  }
  void TearDown() override {
    for (auto& [name, a] : agents_) a.agent->RequestStop();
    for (auto& [name, a] : agents_) a.thread.join();
    if (server_) server_->Shutdown();
  }

  void StartAgent(const std::string& name, const ExecutorRegistry* registry) {
    AgentConfig c;
    c.coordinator = server_->grpc_address();
    c.name = name;
    c.work_dir = dir_.file("host-" + name);
    c.slots = 2;
    c.rpc_timeout_ms = 3000;
    c.acquire_wait_ms = 200;
    c.reconnect_initial_ms = 50;
    c.reconnect_max_ms = 200;
    RunningAgent& a = agents_[name];
    a.agent = std::make_unique<Agent>(c, registry);
    Agent* raw = a.agent.get();
    a.thread = std::thread([raw] { (void)raw->Run(); });
  }
  void StopAgent(const std::string& name) {
    RunningAgent& a = agents_.at(name);
    a.agent->RequestStop();
    a.thread.join();
    agents_.erase(name);
  }

  std::string Submit(const std::string& spec) {
    auto stub = pb::ExperimentService::NewStub(channel_);
    pb::SubmitExperimentRequest req;
    req.set_spec(spec);
    pb::SubmitExperimentReply reply;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    grpc::Status s = stub->SubmitExperiment(&ctx, req, &reply);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return reply.experiment().id();
  }

  // The job's committed row (empty when absent).
  coord::JobRow Job(const std::string& id) {
    auto conn = coord::store::Connection::Open(dir_.file("coord.db"), true);
    if (!conn.ok()) return {};
    auto j = coord::store::GetJob(**conn, id);
    return (j.ok() && *j) ? **j : coord::JobRow{};
  }
  std::vector<coord::tracking::CheckpointRow> Checkpoints(const std::string& exp, const std::string& job) {
    auto conn = coord::store::Connection::Open(dir_.file("coord.db"), true);
    if (!conn.ok()) return {};
    auto rows = coord::tracking::ListCheckpoints(**conn, exp, job);
    return rows.ok() ? *rows : std::vector<coord::tracking::CheckpointRow>{};
  }
  bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds limit = 30s) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (done()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return done();
  }
  // An ArtifactClient of a host that has seen nothing yet.
  std::unique_ptr<transfer::ArtifactClient> FreshClient(const std::string& name) {
    transfer::ArtifactClientOptions o;
    o.cache_dir = dir_.file("check-" + name);
    auto c = transfer::ArtifactClient::ForChannel(channel_, o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }
  // Runs data/base/lora attempt 1 on A and waits until lora's two checkpoints are recorded.
  std::string TrainFirstAttempt() {
    const std::string e = Submit(kSpec);
    StartAgent("a", &trainer_a_);
    EXPECT_TRUE(WaitFor([&] { return Checkpoints(e, e + "/lora").size() == 2; })) << "no checkpoints recorded";
    return e;
  }

  struct RunningAgent {
    std::unique_ptr<Agent> agent;
    std::thread thread;
  };
  TempDir dir_;
  std::unique_ptr<coord::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  ExecutorRegistry trainer_a_, extractor_, trainer_c_, refused_;
  std::atomic<int> discover_runs_{0};
  std::map<std::string, RunningAgent> agents_;
};

TEST_F(CheckpointBlobsTest, CheckpointsReachFanOutChildrenAndAResumedAttemptOnOtherHostsAsBlobs) {
  const std::string e = TrainFirstAttempt();
  // The coordinator recorded blob uris, and their trees are exactly the folders' files.
  std::vector<coord::tracking::CheckpointRow> rows = Checkpoints(e, e + "/lora");
  ASSERT_EQ(rows.size(), 2u);
  auto check = FreshClient("rows");
  ASSERT_TRUE(check);
  for (const auto& r : rows) {
    ASSERT_TRUE(transfer::IsBlobUri(r.path)) << r.path;
    auto local = check->Materialize(r.path);
    ASSERT_TRUE(local.ok()) << local.status().ToString();
    json d = DescribeCheckpoint(*local);
    EXPECT_EQ(d.value("step", -1), r.step);
    EXPECT_EQ(d.value("adapter", uint64_t{0}), Digest(AdapterBytes(r.step))) << r.path;
    EXPECT_EQ(std::distance(fs::directory_iterator(*local), fs::directory_iterator()), 2);
  }
  EXPECT_NE(rows[0].path, rows[1].path);

  // Attempt 1 failed (retryable); A goes away before the retry, C takes it.
  ASSERT_TRUE(WaitFor([&] { return Job(e + "/lora").attempt == 2; }));
  StopAgent("a");
  StartAgent("b", &extractor_);
  StartAgent("c", &trainer_c_);
  ASSERT_TRUE(WaitFor([&] {
    const coord::JobState s = Job(e + "/track").state;
    return s == coord::JobState::kSucceeded || s == coord::JobState::kFailed;
  }, 40s)) << "track never finished";
  ASSERT_EQ(Job(e + "/track").state, coord::JobState::kSucceeded) << Job(e + "/track").error;

  // C's executor saw local folders only: resume_from = checkpoint-20, its sibling checkpoint-10.
  json seen = json::parse(Job(e + "/lora").result_json);
  EXPECT_FALSE(seen.at("params").contains("resume_checkpoints"));
  const json& from = seen.at("resume_from");
  EXPECT_FALSE(transfer::IsBlobUri(from.at("dir").get<std::string>()));
  EXPECT_EQ(fs::path(from.at("dir").get<std::string>()).filename(), "checkpoint-20");
  EXPECT_EQ(from.value("adapter", uint64_t{0}), Digest(AdapterBytes(20)));
  ASSERT_EQ(seen.at("siblings").size(), 2u) << seen.dump();
  for (int step : {10, 20}) {
    const json& s = seen.at("siblings").at("checkpoint-" + std::to_string(step));
    EXPECT_EQ(s.value("step", -1), step);
    EXPECT_EQ(s.value("adapter", uint64_t{0}), Digest(AdapterBytes(step)));
  }

  // B's children: while lora trained, a local copy of the blob param; after it succeeded, the
  // finetune job's checkpoint-30 output as an input.
  for (int step : {10, 20, 30}) {
    const coord::JobRow child = Job(e + "/track@" + std::to_string(step));
    ASSERT_EQ(child.state, coord::JobState::kSucceeded) << child.id << " " << child.error;
    json r = json::parse(child.result_json);
    const json& ck = r.at("checkpoint");
    EXPECT_TRUE(ck.at("is_dir").get<bool>()) << r.dump();
    EXPECT_FALSE(transfer::IsBlobUri(ck.at("dir").get<std::string>()));
    EXPECT_EQ(ck.value("step", -1), step);
    EXPECT_EQ(ck.value("adapter", uint64_t{0}), Digest(AdapterBytes(step)));
    EXPECT_EQ(r.at("via_input").get<bool>(), step == 30);
  }
  // The children ran on B, not on the host that wrote the checkpoints.
  EXPECT_TRUE(fs::exists(dir_.file("host-b/cache/trees")));
  EXPECT_EQ(discover_runs_.load(), 4);  // before + 3 children
}

TEST_F(CheckpointBlobsTest, ACorruptCheckpointBlobFailsItsChildWithDataLossBeforeItRuns) {
  const std::string e = TrainFirstAttempt();
  ASSERT_TRUE(WaitFor([&] { return Job(e + "/lora").attempt == 2; }));
  StopAgent("a");
  // Rot one byte of checkpoint-10's adapter in the coordinator's store.
  auto check = FreshClient("sha");
  ASSERT_TRUE(check);
  std::vector<coord::tracking::CheckpointRow> rows = Checkpoints(e, e + "/lora");
  ASSERT_EQ(rows.size(), 2u);
  const std::string adapter = dir_.file("adapter-10");
  WriteFile(adapter, AdapterBytes(10));
  auto up = check->Upload(adapter, "file");  // already stored: just its address
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->bytes_sent, 0);
  const std::string stored = dir_.file("artifacts/blobs/" + up->sha256.substr(0, 2) + "/" + up->sha256);
  ASSERT_TRUE(fs::exists(stored));
  FlipByte(stored, 123);

  StartAgent("b", &extractor_);
  ASSERT_TRUE(WaitFor([&] { return Job(e + "/track@10").state == coord::JobState::kFailed; }))
      << coord::JobStateName(Job(e + "/track@10").state);
  const coord::JobRow child = Job(e + "/track@10");
  EXPECT_NE(child.error.find("DATA_LOSS"), std::string::npos) << child.error;
  EXPECT_NE(child.error.find("param 'checkpoint'"), std::string::npos) << child.error;
  // The executor never ran on the corrupt checkpoint (only `before` and maybe track@20 did).
  ASSERT_TRUE(WaitFor([&] { return Job(e + "/track").state == coord::JobState::kFailed; }));
  EXPECT_LE(discover_runs_.load(), 2);
  EXPECT_GE(discover_runs_.load(), 1);
}

TEST_F(CheckpointBlobsTest, ACheckpointTheStoreRefusesIsStillAnnouncedWithItsLocalPath) {
  const std::string e = Submit(kSpec);
  StartAgent("a", &refused_);
  ASSERT_TRUE(WaitFor([&] { return Checkpoints(e, e + "/lora").size() == 1; })) << "the checkpoint was dropped";
  const coord::tracking::CheckpointRow row = Checkpoints(e, e + "/lora").at(0);
  EXPECT_FALSE(transfer::IsBlobUri(row.path)) << row.path;
  EXPECT_EQ(row.path.rfind(dir_.file("host-a/"), 0), 0u) << row.path;
  EXPECT_EQ(fs::path(row.path).filename(), "checkpoint-10");
}

}  // namespace
}  // namespace fc::agent
