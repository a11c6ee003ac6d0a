// The agent's side of the WorkerService protocol, against an in-process FakeCoordinator that
// scripts what the real coordinator does at moments that are hard to hit on demand (a stale
// lease, a cancel in a given heartbeat, a restart between two reports). The real coordinator is
// exercised end to end by tests/integration.
#include "worker/agent/agent.h"

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "fc/v1/workers.grpc.pb.h"
#include "worker/agent/builtin_executors.h"

namespace fc::agent {
namespace {

namespace pb = ::fc::v1;
using namespace std::chrono_literals;

class FakeCoordinator final : public pb::WorkerService::Service {
 public:
  // --- scripting, from the test thread
  void AddJob(const std::string& id, const std::string& kind, const nlohmann::json& params, int attempt = 1) {
    pb::LeasedJob j;
    j.mutable_job()->set_id(id);
    j.mutable_job()->set_experiment_id(id.substr(0, id.find('/')));
    j.mutable_job()->set_name(id.substr(id.find('/') + 1));
    j.mutable_job()->set_kind(kind);
    j.mutable_job()->set_params_json(params.dump());
    j.mutable_fence()->set_job_id(id);
    j.mutable_fence()->set_attempt(attempt);
    j.mutable_fence()->set_lease_epoch(attempt * 10);
    std::lock_guard<std::mutex> l(mu);
    pending.push_back(j);
  }
  template <typename Pred>
  bool WaitUntil(Pred pred, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, timeout, [&] { return pred(); });
  }

  // --- state (guarded by mu)
  std::mutex mu;
  std::condition_variable cv;
  std::deque<pb::LeasedJob> pending;
  std::vector<pb::RegisterWorkerRequest> registrations;
  std::vector<pb::HeartbeatRequest> heartbeats;
  std::vector<pb::Fence> started;
  std::vector<pb::ReportProgressRequest> progress;
  std::vector<pb::ReportCompleteRequest> completed;
  std::vector<pb::ReportFailedRequest> failed;
  std::vector<pb::ReleaseJobRequest> released;
  std::vector<std::string> cancel_ids;   // sent in every heartbeat reply
  std::vector<pb::Fence> stale;          // sent in every heartbeat reply
  std::vector<pb::Fence> reject_at_register;
  bool drain = false;
  int acquires = 0;
  grpc::Status register_error = grpc::Status::OK;

  grpc::Status RegisterWorker(grpc::ServerContext*, const pb::RegisterWorkerRequest* req,
                              pb::RegisterWorkerReply* reply) override {
    std::lock_guard<std::mutex> l(mu);
    registrations.push_back(*req);
    if (!register_error.ok()) return register_error;
    reply->set_worker_id("w-" + req->name());
    reply->set_heartbeat_interval_ms(100);
    reply->set_lease_ttl_ms(1000);
    for (const pb::Fence& f : reject_at_register) *reply->add_rejected() = f;
    cv.notify_all();
    return grpc::Status::OK;
  }
  grpc::Status AcquireJob(grpc::ServerContext*, const pb::AcquireJobRequest* req,
                          pb::AcquireJobReply* reply) override {
    std::unique_lock<std::mutex> l(mu);
    ++acquires;
    cv.wait_for(l, std::chrono::milliseconds(std::min(req->wait_ms(), 200)), [&] { return !pending.empty(); });
    for (int i = 0; i < req->free_slots() && !pending.empty(); ++i) {
      *reply->add_jobs() = pending.front();
      pending.pop_front();
    }
    return grpc::Status::OK;
  }
  grpc::Status Heartbeat(grpc::ServerContext*, const pb::HeartbeatRequest* req,
                         pb::HeartbeatReply* reply) override {
    std::lock_guard<std::mutex> l(mu);
    heartbeats.push_back(*req);
    for (const auto& id : cancel_ids) reply->add_cancel_job_ids(id);
    for (const auto& f : stale) *reply->add_stale() = f;
    reply->set_drain(drain);
    cv.notify_all();
    return grpc::Status::OK;
  }
  grpc::Status ReportStarted(grpc::ServerContext*, const pb::ReportStartedRequest* req,
                             pb::ReportStartedReply*) override {
    std::lock_guard<std::mutex> l(mu);
    started.push_back(req->fence());
    cv.notify_all();
    return grpc::Status::OK;
  }
  grpc::Status ReportProgress(grpc::ServerContext*, const pb::ReportProgressRequest* req,
                              pb::ReportProgressReply*) override {
    std::lock_guard<std::mutex> l(mu);
    progress.push_back(*req);
    return grpc::Status::OK;
  }
  grpc::Status ReportComplete(grpc::ServerContext*, const pb::ReportCompleteRequest* req,
                              pb::ReportCompleteReply*) override {
    std::lock_guard<std::mutex> l(mu);
    completed.push_back(*req);
    cv.notify_all();
    return grpc::Status::OK;
  }
  grpc::Status ReportFailed(grpc::ServerContext*, const pb::ReportFailedRequest* req,
                            pb::ReportFailedReply*) override {
    std::lock_guard<std::mutex> l(mu);
    failed.push_back(*req);
    cv.notify_all();
    return grpc::Status::OK;
  }
  grpc::Status ReleaseJob(grpc::ServerContext*, const pb::ReleaseJobRequest* req,
                          pb::ReleaseJobReply*) override {
    std::lock_guard<std::mutex> l(mu);
    released.push_back(*req);
    cv.notify_all();
    return grpc::Status::OK;
  }
};

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterBuiltinExecutors(&registry_).ok());
    work_dir_ = std::filesystem::temp_directory_path() /
                ("fc_agent_test_" + std::to_string(getpid()) + "_" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(work_dir_);
    StartServer(0);
  }
  void TearDown() override {
    StopAgent();
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
    std::filesystem::remove_all(work_dir_);
  }
  void StartServer(int port) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&fake_);
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void StartAgent(int slots = 1, int drain_grace_ms = 5000) {
    AgentConfig c;
    c.coordinator = "127.0.0.1:" + std::to_string(port_);
    c.name = "t1";
    c.slots = slots;
    c.gpus = 2;
    c.gpu_memory_mb = 1234;
    c.labels = {{"zone", "a"}};
    c.work_dir = work_dir_.string();
    c.rpc_timeout_ms = 2000;
    c.acquire_wait_ms = 200;
    c.drain_grace_ms = drain_grace_ms;
    c.reconnect_initial_ms = 50;
    c.reconnect_max_ms = 200;
    c.progress_min_interval_ms = progress_interval_ms_;
    agent_ = std::make_unique<Agent>(c, &registry_);
    agent_thread_ = std::thread([this] { run_status_ = agent_->Run(); });
  }
  void StopAgent() {
    if (!agent_) return;
    agent_->RequestStop();
    agent_thread_.join();
    agent_.reset();
  }

  int progress_interval_ms_ = 0;
  ExecutorRegistry registry_;
  FakeCoordinator fake_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::filesystem::path work_dir_;
  std::unique_ptr<Agent> agent_;
  std::thread agent_thread_;
  Status run_status_ = InternalError("not run");
};

TEST_F(AgentTest, RegistersItsResourcesAndKinds) {
  StartAgent(3);
  ASSERT_TRUE(fake_.WaitUntil([&] { return !fake_.registrations.empty(); }));
  std::lock_guard<std::mutex> l(fake_.mu);
  const pb::RegisterWorkerRequest& r = fake_.registrations[0];
  EXPECT_EQ(r.name(), "t1");
  EXPECT_EQ(r.device(), "cpu");
  EXPECT_EQ(r.slots(), 3);
  EXPECT_EQ(r.resources().gpus(), 2);
  EXPECT_EQ(r.resources().gpu_memory_mb(), 1234);
  EXPECT_EQ(r.resources().labels().at("zone"), "a");
  EXPECT_EQ(std::vector<std::string>(r.kinds().begin(), r.kinds().end()),
            (std::vector<std::string>{"fail", "sleep"}));
  EXPECT_FALSE(r.engine_version().empty());
}

TEST_F(AgentTest, RefusedRegistrationEndsRunWithTheCoordinatorsError) {
  {
    std::lock_guard<std::mutex> l(fake_.mu);
    fake_.register_error = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "worker 't1' field 'slots': bad");
  }
  StartAgent();
  agent_thread_.join();
  agent_.reset();
  EXPECT_EQ(run_status_.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(run_status_.message().find("field 'slots'"), std::string::npos) << run_status_.ToString();
  std::lock_guard<std::mutex> l(fake_.mu);
  EXPECT_EQ(fake_.registrations.size(), 1u);  // not retried
}

TEST_F(AgentTest, RunsALeasedJobAndReportsStartedProgressAndCompleteWithItsFence) {
  StartAgent();
  fake_.AddJob("e1/a", "sleep", {{"seconds", 0.3}}, 2);
  ASSERT_TRUE(fake_.WaitUntil([&] { return !fake_.completed.empty(); }));
  std::lock_guard<std::mutex> l(fake_.mu);
  ASSERT_EQ(fake_.started.size(), 1u);
  EXPECT_EQ(fake_.started[0].attempt(), 2);
  EXPECT_FALSE(fake_.progress.empty());
  for (const auto& p : fake_.progress) EXPECT_EQ(p.fence().lease_epoch(), 20);
  const pb::ReportCompleteRequest& c = fake_.completed[0];
  EXPECT_EQ(c.fence().job_id(), "e1/a");
  EXPECT_EQ(c.fence().lease_epoch(), 20);
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(c.result_json())["slept_seconds"].get<double>(), 0.3);
  std::ifstream f(work_dir_ / "jobs/e1/a/attempt-2/result.json");
  ASSERT_TRUE(f.good());
  EXPECT_EQ(nlohmann::json::parse(f)["status"], "OK");
  // While it ran, heartbeats carried its fence.
  bool seen = false;
  for (const auto& h : fake_.heartbeats) {
    for (const auto& f : h.running()) seen |= f.job_id() == "e1/a";
  }
  EXPECT_TRUE(seen);
}

// Announces checkpoints back to back, like a fine-tuning executor with a short checkpoint_every.
class CheckpointingExecutor : public Executor {
 public:
  Status Run(JobContext& ctx) override {
    for (int step = 1; step <= 5; ++step) {
      ctx.ReportProgress(step / 10.0, "step", {{"step", step}, {"loss", 1.0}});
      ctx.ReportProgress(step / 10.0, "checkpoint", {{"checkpoint", {{"step", step}}}});
    }
    return Status::OK();
  }
};

TEST_F(AgentTest, CheckpointAnnouncementsAreNeverThrottled) {
  ASSERT_TRUE(registry_.Register("ckpt", [] { return std::make_unique<CheckpointingExecutor>(); }).ok());
  progress_interval_ms_ = 60000;  // ordinary progress: at most one report a minute
  StartAgent();
  fake_.AddJob("e1/ft", "ckpt", nlohmann::json::object(), 1);
  ASSERT_TRUE(fake_.WaitUntil([&] { return !fake_.completed.empty(); }));
  std::lock_guard<std::mutex> l(fake_.mu);
  std::vector<int> steps;
  int plain = 0;
  for (const auto& p : fake_.progress) {
    if (p.metrics_json().empty()) continue;
    auto m = nlohmann::json::parse(p.metrics_json());
    if (m.contains("checkpoint")) {
      steps.push_back(m["checkpoint"]["step"].get<int>());
    } else {
      ++plain;
    }
  }
  EXPECT_EQ(steps, (std::vector<int>{1, 2, 3, 4, 5}));
  EXPECT_LE(plain, 1);  // the throttle still holds for ordinary progress
}

// Writes one file output, like an engine executor would.
class WriterExecutor : public Executor {
 public:
  Status Run(JobContext& ctx) override {
    std::string path = ctx.output_dir() + "/out.txt";
    std::ofstream(path) << "hello";
    ctx.AddOutput({"text", "", 5, "file", path});
    return Status::OK();
  }
};

TEST_F(AgentTest, OutputsAreReportedAsLocalPathsWhenTheCoordinatorHasNoArtifactStore) {
  ASSERT_TRUE(registry_.Register("writer", [] { return std::make_unique<WriterExecutor>(); }).ok());
  StartAgent();
  fake_.AddJob("e1/w", "writer", nlohmann::json::object());
  ASSERT_TRUE(fake_.WaitUntil([&] { return !fake_.completed.empty() || !fake_.failed.empty(); }));
  std::lock_guard<std::mutex> l(fake_.mu);
  ASSERT_EQ(fake_.completed.size(), 1u) << (fake_.failed.empty() ? "" : fake_.failed[0].error());
  ASSERT_EQ(fake_.completed[0].outputs_size(), 1);
  const pb::Artifact& a = fake_.completed[0].outputs(0);
  EXPECT_EQ(a.name(), "text");
  EXPECT_EQ(a.kind(), "file");
  std::ifstream f(a.uri());
  std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "hello") << a.uri();
}

TEST_F(AgentTest, FailuresCarryTheReasonAndPermanence) {
  StartAgent(2);
  fake_.AddJob("e1/bad", "fail", {{"message", "bad param"}, {"permanent", true}});
  fake_.AddJob("e1/flaky", "fail", {{"message", "transient"}});
  ASSERT_TRUE(fake_.WaitUntil([&] { return fake_.failed.size() == 2; }));
  std::lock_guard<std::mutex> l(fake_.mu);
  for (const auto& f : fake_.failed) {
    bool bad = f.fence().job_id() == "e1/bad";
    EXPECT_EQ(f.permanent(), bad) << f.fence().job_id();
    EXPECT_FALSE(f.cancelled());
    EXPECT_NE(f.error().find(bad ? "bad param" : "transient"), std::string::npos) << f.error();
  }
}

TEST_F(AgentTest, HeartbeatCancelStopsTheJobWithinAHeartbeatAndReportsCancelled) {
  StartAgent();
  fake_.AddJob("e1/long", "sleep", {{"seconds", 30}});
  ASSERT_TRUE(fake_.WaitUntil([&] { return !fake_.started.empty(); }));
  auto t0 = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> l(fake_.mu);
    fake_.cancel_ids = {"e1/long"};
  }
  ASSERT_TRUE(fake_.WaitUntil([&] { return !fake_.failed.empty(); }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);  // heartbeat 100 ms + poll 20 ms
  std::lock_guard<std::mutex> l(fake_.mu);
  EXPECT_TRUE(fake_.failed[0].cancelled());
  EXPECT_FALSE(fake_.failed[0].permanent());
  EXPECT_TRUE(fake_.completed.empty());
}

TEST_F(AgentTest, StaleLeaseIsAbandonedWithoutAnyFurtherReport) {
  StartAgent();
  fake_.AddJob("e1/old", "sleep", {{"seconds", 30}}, 1);
  ASSERT_TRUE(fake_.WaitUntil([&] { return !fake_.started.empty(); }));
  {
    std::lock_guard<std::mutex> l(fake_.mu);
    fake_.stale = {fake_.started[0]};
  }
  // It stops being presented in heartbeats, and nothing is reported for it.
  ASSERT_TRUE(fake_.WaitUntil([&] {
    const auto& h = fake_.heartbeats;
    return h.size() > 3 && h.back().running_size() == 0 && h[h.size() - 2].running_size() == 0;
  }));
  std::this_thread::sleep_for(200ms);
  std::lock_guard<std::mutex> l(fake_.mu);
  EXPECT_TRUE(fake_.completed.empty());
  EXPECT_TRUE(fake_.failed.empty());
}

TEST_F(AgentTest, CoordinatorDrainStopsAcquiringUntilLifted) {
  {
    std::lock_guard<std::mutex> l(fake_.mu);
    fake_.drain = true;
  }
  StartAgent();
  ASSERT_TRUE(fake_.WaitUntil([&] { return fake_.heartbeats.size() >= 2; }));
  std::this_thread::sleep_for(300ms);  // let a poll started before the first heartbeat end
  int acquires_after_drain;
  {
    std::lock_guard<std::mutex> l(fake_.mu);
    acquires_after_drain = fake_.acquires;
  }
  fake_.AddJob("e1/x", "sleep", {{"seconds", 0}});
  std::this_thread::sleep_for(600ms);
  {
    std::lock_guard<std::mutex> l(fake_.mu);
    EXPECT_EQ(fake_.acquires, acquires_after_drain);
    EXPECT_TRUE(fake_.started.empty());
    fake_.drain = false;
  }
  EXPECT_TRUE(fake_.WaitUntil([&] { return !fake_.completed.empty(); }));
}

TEST_F(AgentTest, DrainRequestFinishesShortJobsAndHandsBackLongOnesThenReturnsOk) {
  StartAgent(2, /*drain_grace_ms=*/500);
  fake_.AddJob("e1/short", "sleep", {{"seconds", 0.2}});
  fake_.AddJob("e1/long", "sleep", {{"seconds", 30}});
  ASSERT_TRUE(fake_.WaitUntil([&] { return fake_.started.size() == 2; }));
  auto t0 = std::chrono::steady_clock::now();
  agent_->RequestDrain();
  agent_thread_.join();
  agent_.reset();
  EXPECT_TRUE(run_status_.ok()) << run_status_.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  std::lock_guard<std::mutex> l(fake_.mu);
  ASSERT_EQ(fake_.completed.size(), 1u);
  EXPECT_EQ(fake_.completed[0].fence().job_id(), "e1/short");
  ASSERT_EQ(fake_.released.size(), 1u);
  EXPECT_EQ(fake_.released[0].fence().job_id(), "e1/long");
  EXPECT_TRUE(fake_.failed.empty());
}

TEST_F(AgentTest, ReRegistersWithRunningFencesAfterTheCoordinatorRestartsAndStillReports) {
  StartAgent();
  fake_.AddJob("e1/survivor", "sleep", {{"seconds", 1.5}}, 3);
  ASSERT_TRUE(fake_.WaitUntil([&] { return !fake_.started.empty(); }));
  const int port = port_;
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
  server_.reset();
  std::this_thread::sleep_for(300ms);  // the agent notices (heartbeat fails) meanwhile
  StartServer(port);
  ASSERT_EQ(port_, port);
  ASSERT_TRUE(fake_.WaitUntil([&] { return fake_.registrations.size() >= 2; }, 5s));
  {
    std::lock_guard<std::mutex> l(fake_.mu);
    const auto& again = fake_.registrations.back();
    ASSERT_EQ(again.running_size(), 1);
    EXPECT_EQ(again.running(0).job_id(), "e1/survivor");
    EXPECT_EQ(again.running(0).attempt(), 3);
  }
  ASSERT_TRUE(fake_.WaitUntil([&] { return !fake_.completed.empty(); }, 5s));
  std::lock_guard<std::mutex> l(fake_.mu);
  EXPECT_EQ(fake_.completed[0].fence().job_id(), "e1/survivor");
}

TEST_F(AgentTest, FencesRejectedAtRegistrationAreAbandoned) {
  StartAgent();
  fake_.AddJob("e1/gone", "sleep", {{"seconds", 1.0}}, 1);
  ASSERT_TRUE(fake_.WaitUntil([&] { return !fake_.started.empty(); }));
  const int port = port_;
  {
    std::lock_guard<std::mutex> l(fake_.mu);
    fake_.reject_at_register = {fake_.started[0]};
  }
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
  server_.reset();
  std::this_thread::sleep_for(300ms);
  StartServer(port);
  ASSERT_TRUE(fake_.WaitUntil([&] { return fake_.registrations.size() >= 2; }, 5s));
  std::this_thread::sleep_for(1500ms);  // past the job's natural end
  std::lock_guard<std::mutex> l(fake_.mu);
  EXPECT_TRUE(fake_.completed.empty());
  EXPECT_TRUE(fake_.failed.empty());
}

}  // namespace
}  // namespace fc::agent
