// The agent and the artifact store together: a job's folder and file outputs are uploaded and
// reported by content address, and a downstream job on another worker (its own work dir and
// cache) sees them materialised as local paths. The coordinator is an in-process fake
// WorkerService next to the real ArtifactService on one loopback gRPC server.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "coordinator/artifacts/artifact_service.h"
#include "fc/v1/workers.grpc.pb.h"
#include "tests/coordinator/artifacts/test_files.h"
#include "worker/agent/agent.h"
#include "worker/transfer/artifact_uri.h"

namespace fc::transfer {
namespace {

namespace fs = std::filesystem;
namespace pb = ::fc::v1;
using namespace std::chrono_literals;
using artifacts::testing::FlipByte;
using artifacts::testing::RandomBytes;
using artifacts::testing::ReadFile;
using artifacts::testing::TempDir;
using artifacts::testing::WriteFile;

// Leases queued jobs to whoever asks and records the final reports.
class FakeWorkerService final : public pb::WorkerService::Service {
 public:
  void Add(const std::string& id, const std::string& kind, const pb::LeasedJob& extra = {}) {
    pb::LeasedJob j = extra;
    j.mutable_job()->set_id(id);
    j.mutable_job()->set_experiment_id("e");
    j.mutable_job()->set_name(id.substr(id.find('/') + 1));
    j.mutable_job()->set_kind(kind);
    j.mutable_job()->set_params_json("{}");
    j.mutable_fence()->set_job_id(id);
    j.mutable_fence()->set_attempt(1);
    j.mutable_fence()->set_lease_epoch(1);
    std::lock_guard<std::mutex> l(mu);
    pending.push_back(j);
    cv.notify_all();
  }
  // Waits for the final report of job id: true + *complete, or false + *failed.
  bool WaitFinal(const std::string& id, pb::ReportCompleteRequest* complete, pb::ReportFailedRequest* failed_out) {
    std::unique_lock<std::mutex> l(mu);
    cv.wait_for(l, 20s, [&] { return done.count(id) || failed.count(id); });
    if (done.count(id)) {
      *complete = done[id];
      return true;
    }
    if (failed.count(id)) *failed_out = failed[id];
    return false;
  }

  grpc::Status RegisterWorker(grpc::ServerContext*, const pb::RegisterWorkerRequest* req,
                              pb::RegisterWorkerReply* reply) override {
    reply->set_worker_id("w-" + req->name());
    reply->set_heartbeat_interval_ms(200);
    reply->set_lease_ttl_ms(5000);
    return grpc::Status::OK;
  }
  grpc::Status AcquireJob(grpc::ServerContext*, const pb::AcquireJobRequest* req, pb::AcquireJobReply* reply) override {
    std::unique_lock<std::mutex> l(mu);
    cv.wait_for(l, 100ms, [&] { return !pending.empty(); });
    if (!pending.empty() && req->free_slots() > 0) {
      *reply->add_jobs() = pending.front();
      pending.pop_front();
    }
    return grpc::Status::OK;
  }
  grpc::Status Heartbeat(grpc::ServerContext*, const pb::HeartbeatRequest*, pb::HeartbeatReply*) override {
    return grpc::Status::OK;
  }
  grpc::Status ReportStarted(grpc::ServerContext*, const pb::ReportStartedRequest*, pb::ReportStartedReply*) override {
    return grpc::Status::OK;
  }
  grpc::Status ReportProgress(grpc::ServerContext*, const pb::ReportProgressRequest*,
                              pb::ReportProgressReply*) override {
    return grpc::Status::OK;
  }
  grpc::Status ReportComplete(grpc::ServerContext*, const pb::ReportCompleteRequest* req,
                              pb::ReportCompleteReply*) override {
    std::lock_guard<std::mutex> l(mu);
    done[req->fence().job_id()] = *req;
    cv.notify_all();
    return grpc::Status::OK;
  }
  grpc::Status ReportFailed(grpc::ServerContext*, const pb::ReportFailedRequest* req, pb::ReportFailedReply*) override {
    std::lock_guard<std::mutex> l(mu);
    failed[req->fence().job_id()] = *req;
    cv.notify_all();
    return grpc::Status::OK;
  }
  grpc::Status ReleaseJob(grpc::ServerContext*, const pb::ReleaseJobRequest*, pb::ReleaseJobReply*) override {
    return grpc::Status::OK;
  }

  std::mutex mu;
  std::condition_variable cv;
  std::deque<pb::LeasedJob> pending;
  std::map<std::string, pb::ReportCompleteRequest> done;
  std::map<std::string, pb::ReportFailedRequest> failed;
};

// Writes a model-like folder and a JSONL file, as train_base/dataset executors do.
class ProduceExecutor : public agent::Executor {
 public:
  Status Run(agent::JobContext& ctx) override {
    const std::string model = ctx.output_dir() + "/model";
    WriteFile(model + "/config.json", R"({"n_layers":1})");
    WriteFile(model + "/model.safetensors", RandomBytes(200000, 42));
    WriteFile(ctx.output_dir() + "/ft.jsonl", "{\"clean\":\"1+1=\"}\n");
    ctx.AddOutput({"model", "", 0, "model", model});
    ctx.AddOutput({"ft", "", 0, "dataset", ctx.output_dir() + "/ft.jsonl"});
    return Status::OK();
  }
};

// Reads its dependency's outputs through the paths it was given and reports what it saw.
class ConsumeExecutor : public agent::Executor {
 public:
  Status Run(agent::JobContext& ctx) override {
    nlohmann::json seen = nlohmann::json::object();
    for (const auto& [dep, out] : ctx.inputs()) {
      for (const agent::ArtifactRef& a : out.outputs) {
        nlohmann::json e = {{"uri", a.uri}, {"is_dir", fs::is_directory(a.uri)}};
        if (fs::is_directory(a.uri)) {
          e["config"] = ReadFile(a.uri + "/config.json");
          e["weights_size"] = fs::file_size(a.uri + "/model.safetensors");
        } else {
          e["content"] = ReadFile(a.uri);
        }
        seen[dep + "." + a.name] = e;
      }
    }
    ctx.SetResult(seen);
    return Status::OK();
  }
};

class AgentArtifactsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = artifacts::BlobStore::Open(dir_.file("store"));
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    service_ = std::make_unique<artifacts::ArtifactService>(store_.get());
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&workers_);
    b.RegisterService(service_.get());
    server_ = b.BuildAndStart();
    ASSERT_TRUE(server_);
    ASSERT_TRUE(registry_.Register("produce", [] { return std::make_unique<ProduceExecutor>(); }).ok());
    ASSERT_TRUE(registry_.Register("consume", [] { return std::make_unique<ConsumeExecutor>(); }).ok());
  }
  void TearDown() override {
    for (auto& a : agents_) a->RequestStop();
    for (auto& t : threads_) t.join();
    server_->Shutdown(std::chrono::system_clock::now() + 1s);
  }
  void StartAgent(const std::string& name) {
    agent::AgentConfig c;
    c.coordinator = "127.0.0.1:" + std::to_string(port_);
    c.name = name;
    c.work_dir = dir_.file("work-" + name);
    c.rpc_timeout_ms = 2000;
    c.acquire_wait_ms = 100;
    c.reconnect_initial_ms = 50;
    c.reconnect_max_ms = 200;
    agents_.push_back(std::make_unique<agent::Agent>(c, &registry_));
    agent::Agent* a = agents_.back().get();
    threads_.emplace_back([a] { (void)a->Run(); });
  }
  // Stops every agent (so the next job runs on a fresh one).
  void StopAgents() {
    for (auto& a : agents_) a->RequestStop();
    for (auto& t : threads_) t.join();
    agents_.clear();
    threads_.clear();
  }

  TempDir dir_;
  FakeWorkerService workers_;
  std::unique_ptr<artifacts::BlobStore> store_;
  std::unique_ptr<artifacts::ArtifactService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  agent::ExecutorRegistry registry_;
  std::vector<std::unique_ptr<agent::Agent>> agents_;
  std::vector<std::thread> threads_;
};

TEST_F(AgentArtifactsTest, AFolderOutputIsUploadedAndADownstreamJobOnAnotherWorkerSeesItLocally) {
  StartAgent("a");
  workers_.Add("e/produce", "produce");
  pb::ReportCompleteRequest produced;
  pb::ReportFailedRequest failed;
  ASSERT_TRUE(workers_.WaitFinal("e/produce", &produced, &failed)) << failed.error();
  ASSERT_EQ(produced.outputs_size(), 2);
  const pb::Artifact& model = produced.outputs(0);
  EXPECT_EQ(model.name(), "model");
  EXPECT_EQ(model.uri(), FormatBlobUri(model.sha256()));
  EXPECT_EQ(model.size(), 200000 + 14);
  EXPECT_TRUE(store_->Has(model.sha256()));
  const pb::Artifact& ft = produced.outputs(1);
  EXPECT_EQ(ft.uri(), FormatBlobUri(ft.sha256(), "ft.jsonl"));
  EXPECT_TRUE(store_->Has(ft.sha256()));
  StopAgents();

  StartAgent("b");  // another host: its own work dir, empty cache
  pb::LeasedJob with_inputs;
  auto* in = &(*with_inputs.mutable_inputs())["produce"];
  *in->add_outputs() = model;
  *in->add_outputs() = ft;
  workers_.Add("e/consume", "consume", with_inputs);
  pb::ReportCompleteRequest consumed;
  ASSERT_TRUE(workers_.WaitFinal("e/consume", &consumed, &failed)) << failed.error();
  nlohmann::json seen = nlohmann::json::parse(consumed.result_json());
  const std::string cache_b = dir_.file("work-b") + "/cache/";
  EXPECT_EQ(seen["produce.model"]["uri"].get<std::string>().rfind(cache_b, 0), 0u) << seen.dump();
  EXPECT_TRUE(seen["produce.model"]["is_dir"].get<bool>());
  EXPECT_EQ(seen["produce.model"]["config"], R"({"n_layers":1})");
  EXPECT_EQ(seen["produce.model"]["weights_size"], 200000);
  EXPECT_EQ(fs::path(seen["produce.ft"]["uri"].get<std::string>()).filename(), "ft.jsonl");
  EXPECT_EQ(seen["produce.ft"]["content"], "{\"clean\":\"1+1=\"}\n");
}

TEST_F(AgentArtifactsTest, ACorruptInputInTheStoreFailsTheJobAsRetryableDataLoss) {
  WriteFile(dir_.file("rows.jsonl"), RandomBytes(5000, 7));
  auto info = store_->PutFile(dir_.file("rows.jsonl"));
  ASSERT_TRUE(info.ok());
  FlipByte(store_->BlobPath(info->sha256), 17);
  StartAgent("c");
  pb::LeasedJob with_inputs;
  pb::Artifact* a = (*with_inputs.mutable_inputs())["data"].add_outputs();
  a->set_name("ft");
  a->set_sha256(info->sha256);
  a->set_size(5000);
  a->set_uri(FormatBlobUri(info->sha256, "rows.jsonl"));
  workers_.Add("e/consume", "consume", with_inputs);
  pb::ReportCompleteRequest done;
  pb::ReportFailedRequest failed;
  ASSERT_FALSE(workers_.WaitFinal("e/consume", &done, &failed));
  EXPECT_NE(failed.error().find("DATA_LOSS"), std::string::npos) << failed.error();
  EXPECT_FALSE(failed.permanent());
}

}  // namespace
}  // namespace fc::transfer
