// An in-process coordinator (Server on port 0, temp database) driven over loopback gRPC with
// the generated stubs, as a worker and a client would.
#include "coordinator/server.h"

#include <fstream>
#include <future>
#include <thread>

#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "fc/v1/admin.grpc.pb.h"
#include "fc/v1/experiments.grpc.pb.h"
#include "fc/v1/workers.grpc.pb.h"
#include "tests/coordinator/test_util.h"

namespace fc::coord {
namespace {

namespace pb = fc::v1;
using ::testing::HasSubstr;
using fc::coord::testing::TempDir;

constexpr const char* kDag = R"(experiment: fan
jobs:
  root: {kind: sleep, seconds: 0}
  left: {kind: sleep, seconds: 0, after: [root]}
  right: {kind: sleep, seconds: 0, after: [root]}
  sink: {kind: sleep, seconds: 0, after: [left, right]}
)";

class RpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Config c;
    c.db_path = dir_.file("db");
    c.artifacts_dir = dir_.file("artifacts");
    c.lease_ttl_ms = 3000;
    c.heartbeat_ms = 500;
    c.retry_backoff_ms = 10;
    c.retry_backoff_max_ms = 100;
    c.ready_file = dir_.file("ready.json");
    auto s = Server::Start(c);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    channel_ = grpc::CreateChannel(server_->grpc_address(), grpc::InsecureChannelCredentials());
    exp_ = pb::ExperimentService::NewStub(channel_);
    work_ = pb::WorkerService::NewStub(channel_);
    admin_ = pb::AdminService::NewStub(channel_);
  }
  void TearDown() override { server_.reset(); }

  static std::unique_ptr<grpc::ClientContext> Ctx(int ms = 10000) {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
    return c;
  }
  pb::SubmitExperimentReply Submit(const std::string& spec, const std::string& key = "") {
    pb::SubmitExperimentRequest req;
    req.set_spec(spec);
    req.set_idempotency_key(key);
    pb::SubmitExperimentReply reply;
    grpc::Status s = exp_->SubmitExperiment(Ctx().get(), req, &reply);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return reply;
  }
  std::string Register(const std::string& name) {
    pb::RegisterWorkerRequest req;
    req.set_name(name);
    req.set_slots(4);
    req.add_kinds("sleep");
    pb::RegisterWorkerReply reply;
    grpc::Status s = work_->RegisterWorker(Ctx().get(), req, &reply);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(reply.heartbeat_interval_ms(), 500);
    EXPECT_EQ(reply.lease_ttl_ms(), 3000);
    return reply.worker_id();
  }
  std::vector<pb::LeasedJob> Acquire(const std::string& w, int slots = 4, int wait_ms = 0) {
    pb::AcquireJobRequest req;
    req.set_worker_id(w);
    req.set_free_slots(slots);
    req.set_wait_ms(wait_ms);
    pb::AcquireJobReply reply;
    grpc::Status s = work_->AcquireJob(Ctx().get(), req, &reply);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {reply.jobs().begin(), reply.jobs().end()};
  }
  grpc::Status Complete(const pb::Fence& f, const std::string& result = "{}") {
    pb::ReportCompleteRequest req;
    *req.mutable_fence() = f;
    req.set_result_json(result);
    auto* a = req.add_outputs();
    a->set_name("out");
    a->set_sha256("00ff");
    a->set_kind("file");
    pb::ReportCompleteReply reply;
    return work_->ReportComplete(Ctx().get(), req, &reply);
  }
  pb::Job GetJob(const std::string& id) {
    pb::GetJobRequest req;
    req.set_id(id);
    pb::GetJobReply reply;
    grpc::Status s = exp_->GetJob(Ctx().get(), req, &reply);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return reply.job();
  }
  // Reads events from a Watch until `n` arrived (or the deadline).
  std::vector<pb::Event> Watch(const std::string& exp_id, int64_t after, size_t n,
                               std::function<bool(const pb::Event&)> stop = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    pb::WatchRequest req;
    req.set_experiment_id(exp_id);
    req.set_after_seq(after);
    auto reader = exp_->Watch(&ctx, req);
    std::vector<pb::Event> out;
    pb::Event e;
    while (out.size() < n && reader->Read(&e)) {
      out.push_back(e);
      if (stop && stop(e)) break;
    }
    ctx.TryCancel();
    reader->Finish();
    return out;
  }
  // Runs the whole DAG to completion as one worker.
  void RunAll(const std::string& w, int jobs_total) {
    for (int done = 0, round = 0; done < jobs_total && round < 20; ++round) {
      for (const auto& j : Acquire(w, 4, 1000)) {
        ASSERT_TRUE(Complete(j.fence()).ok());
        ++done;
      }
    }
  }

  TempDir dir_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::ExperimentService::Stub> exp_;
  std::unique_ptr<pb::WorkerService::Stub> work_;
  std::unique_ptr<pb::AdminService::Stub> admin_;
};

TEST_F(RpcTest, SubmitAcquireCompleteMakesDownstreamReady) {
  auto sub = Submit(kDag);
  const std::string e = sub.experiment().id();
  EXPECT_FALSE(sub.existed());
  EXPECT_EQ(sub.experiment().state(), pb::EXP_RUNNING);
  EXPECT_EQ(sub.experiment().jobs_by_state().at("READY"), 1);
  std::string w = Register("w1");
  auto first = Acquire(w);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].job().name(), "root");
  EXPECT_EQ(first[0].job().state(), pb::LEASED);
  EXPECT_EQ(GetJob(e + "/left").state(), pb::PENDING);
  ASSERT_TRUE(Complete(first[0].fence(), R"({"acc": 0.9})").ok());
  EXPECT_EQ(GetJob(e + "/root").state(), pb::SUCCEEDED);
  EXPECT_EQ(GetJob(e + "/root").outputs(0).sha256(), "00ff");
  EXPECT_EQ(GetJob(e + "/left").state(), pb::READY);
  EXPECT_EQ(GetJob(e + "/right").state(), pb::READY);
  auto mid = Acquire(w);
  ASSERT_EQ(mid.size(), 2u);
  EXPECT_EQ(mid[0].inputs().at("root").result_json(), R"({"acc": 0.9})");
  for (const auto& j : mid) ASSERT_TRUE(Complete(j.fence()).ok());
  auto sink = Acquire(w);
  ASSERT_EQ(sink.size(), 1u);
  EXPECT_EQ(sink[0].inputs().size(), 2u);
  ASSERT_TRUE(Complete(sink[0].fence()).ok());
  pb::GetExperimentRequest greq;
  greq.set_id(e);
  pb::GetExperimentReply g;
  ASSERT_TRUE(exp_->GetExperiment(Ctx().get(), greq, &g).ok());
  EXPECT_EQ(g.experiment().state(), pb::EXP_SUCCEEDED);
  EXPECT_EQ(g.jobs_size(), 4);
  EXPECT_EQ(g.experiment().jobs_by_state().at("SUCCEEDED"), 4);
}

TEST_F(RpcTest, StaleCompletionIsRejectedAndChangesNothing) {
  const std::string e = Submit(kDag).experiment().id();
  std::string w = Register("w1");
  auto l = Acquire(w);
  pb::Fence old = l[0].fence();
  pb::ReleaseJobRequest rel;
  *rel.mutable_fence() = old;
  pb::ReleaseJobReply rr;
  ASSERT_TRUE(work_->ReleaseJob(Ctx().get(), rel, &rr).ok());
  auto again = Acquire(w);
  ASSERT_EQ(again.size(), 1u);
  // `old` has the same attempt but the previous lease epoch.
  grpc::Status s = Complete(old);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), "stale lease epoch 1 (current 2) for job " + e + "/root");
  pb::Fence wrong_attempt = again[0].fence();
  wrong_attempt.set_attempt(7);
  s = Complete(wrong_attempt);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), "stale attempt 7 (current 1) for job " + e + "/root");
  EXPECT_EQ(GetJob(e + "/root").state(), pb::LEASED);
  EXPECT_TRUE(GetJob(e + "/root").outputs().empty());
}

TEST_F(RpcTest, IdempotentSubmitAndValidationErrors) {
  auto a = Submit(kDag, "key-1");
  auto b = Submit(kDag, "key-1");
  EXPECT_TRUE(b.existed());
  EXPECT_EQ(a.experiment().id(), b.experiment().id());
  pb::SubmitExperimentRequest req;
  req.set_spec("experiment: bad\njobs:\n  a: {kind: sleep, seconds: -2}\n");
  req.set_source_name("bad.yaml");
  pb::SubmitExperimentReply reply;
  grpc::Status s = exp_->SubmitExperiment(Ctx().get(), req, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("bad.yaml: job 'a' field 'seconds' (line 3): must be in [0, 86400], got -2"));
  pb::ListExperimentsRequest lreq;
  pb::ListExperimentsReply lrep;
  ASSERT_TRUE(exp_->ListExperiments(Ctx().get(), lreq, &lrep).ok());
  EXPECT_EQ(lrep.experiments_size(), 1) << "the invalid spec must store nothing";
}

TEST_F(RpcTest, WatchResumesAfterASeqWithoutGapsThenGoesLive) {
  const std::string e = Submit(kDag).experiment().id();
  std::string w = Register("w1");
  RunAll(w, 4);
  // From the start: with no filter every event matches, so seqs are dense.
  auto head = Watch("", 0, 8);
  ASSERT_EQ(head.size(), 8u);
  for (size_t i = 0; i < head.size(); ++i) EXPECT_EQ(head[i].seq(), static_cast<int64_t>(i + 1));
  const int64_t resume = head[4].seq();
  auto tail = Watch("", resume, 3);
  ASSERT_EQ(tail.size(), 3u);
  EXPECT_EQ(tail[0].seq(), resume + 1);
  EXPECT_EQ(tail[2].seq(), resume + 3);
  // Filtered by experiment: only its events, in order, ending with its final state.
  auto mine = Watch(e, 0, 1000, [](const pb::Event& ev) { return ev.message() == "EXP_SUCCEEDED"; });
  ASSERT_FALSE(mine.empty());
  for (size_t i = 1; i < mine.size(); ++i) EXPECT_GT(mine[i].seq(), mine[i - 1].seq());
  for (const auto& ev : mine) EXPECT_EQ(ev.experiment_id(), e);
  EXPECT_EQ(mine.back().type(), "experiment_state");
  EXPECT_EQ(mine.back().message(), "EXP_SUCCEEDED");
  // Live: a watcher positioned at the end receives a later submission's events.
  const int64_t end = mine.back().seq();
  std::promise<std::vector<pb::Event>> live;
  std::thread t([&] { live.set_value(Watch("", end, 2)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Submit("experiment: later\njobs:\n  x: {kind: sleep}\n");
  auto got = live.get_future().get();
  t.join();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_GT(got[0].seq(), end);
  EXPECT_EQ(got[1].seq(), got[0].seq() + 1);
  EXPECT_EQ(got[0].job_state(), pb::READY);
}

TEST_F(RpcTest, LongPollAcquireWakesOnSubmit) {
  std::string w = Register("w1");
  auto t0 = std::chrono::steady_clock::now();
  auto fut = std::async(std::launch::async, [&] { return Acquire(w, 1, 5000); });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  Submit(kDag);
  auto got = fut.get();
  auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(got.size(), 1u);
  EXPECT_LT(waited, std::chrono::milliseconds(3000));
  auto empty = Acquire(w, 1, 100);
  EXPECT_TRUE(empty.empty());
}

TEST_F(RpcTest, CancellationIsDeliveredInTheHeartbeatReply) {
  const std::string e = Submit(kDag).experiment().id();
  std::string w = Register("w1");
  auto l = Acquire(w);
  pb::CancelJobRequest creq;
  creq.set_id(e + "/root");
  creq.set_reason("test");
  pb::CancelJobReply crep;
  ASSERT_TRUE(exp_->CancelJob(Ctx().get(), creq, &crep).ok());
  EXPECT_EQ(crep.job().state(), pb::CANCELLED);
  pb::HeartbeatRequest hreq;
  hreq.set_worker_id(w);
  *hreq.add_running() = l[0].fence();
  pb::HeartbeatReply hrep;
  ASSERT_TRUE(work_->Heartbeat(Ctx().get(), hreq, &hrep).ok());
  ASSERT_EQ(hrep.cancel_job_ids_size(), 1);
  EXPECT_EQ(hrep.cancel_job_ids(0), e + "/root");
  pb::GetExperimentRequest greq;
  greq.set_id(e);
  pb::GetExperimentReply g;
  ASSERT_TRUE(exp_->GetExperiment(Ctx().get(), greq, &g).ok());
  EXPECT_EQ(g.experiment().state(), pb::EXP_CANCELLED);
}

TEST_F(RpcTest, AdminListsDrainsAndCordonsWorkers) {
  std::string w = Register("w1");
  pb::DrainWorkerRequest d;
  d.set_worker("w1");
  pb::DrainWorkerReply dr;
  ASSERT_TRUE(admin_->DrainWorker(Ctx().get(), d, &dr).ok());
  EXPECT_TRUE(dr.worker().draining());
  pb::HeartbeatRequest hreq;
  hreq.set_worker_id(w);
  pb::HeartbeatReply hrep;
  ASSERT_TRUE(work_->Heartbeat(Ctx().get(), hreq, &hrep).ok());
  EXPECT_TRUE(hrep.drain());
  pb::CordonWorkerRequest c;
  c.set_worker(w);
  pb::CordonWorkerReply cr;
  ASSERT_TRUE(admin_->CordonWorker(Ctx().get(), c, &cr).ok());
  EXPECT_TRUE(cr.worker().cordoned());
  pb::ListWorkersRequest lreq;
  pb::ListWorkersReply lrep;
  ASSERT_TRUE(admin_->ListWorkers(Ctx().get(), lreq, &lrep).ok());
  ASSERT_EQ(lrep.workers_size(), 1);
  EXPECT_EQ(lrep.workers(0).name(), "w1");
  EXPECT_TRUE(lrep.workers(0).alive());
  d.set_worker("nobody");
  EXPECT_EQ(admin_->DrainWorker(Ctx().get(), d, &dr).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(RpcTest, HealthServiceReportsServingAndReadyFileNamesThePorts) {
  grpc::GenericStub generic(channel_);
  grpc::ByteBuffer request;  // HealthCheckRequest{service: ""} encodes to zero bytes
  grpc::Slice empty("");
  request = grpc::ByteBuffer(&empty, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext ctx;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                    [&](grpc::Status s) { done.set_value(s); });
  grpc::Status s = done.get_future().get();
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (auto& sl : slices) bytes += std::string(reinterpret_cast<const char*>(sl.begin()), sl.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));  // status: SERVING
  std::ifstream in(dir_.file("ready.json"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("\"grpc\":\"" + server_->grpc_address() + "\""));
  EXPECT_THAT(text, HasSubstr("\"http\":\"" + server_->http_address() + "\""));
  EXPECT_THAT(text, HasSubstr("\"pid\":"));
}

}  // namespace
}  // namespace fc::coord
