// The scheduler with a FakeClock and the real store on a temporary file: leases, expiry and
// requeue, backoff, fencing, priorities, matching, drain/cordon, cancellation, recovery.
// Time only moves through FakeClock::Advance; the io_context runs only to deliver commits.
#include "coordinator/scheduler/scheduler.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/dag/parser.h"
#include "coordinator/store/store.h"
#include "tests/coordinator/test_util.h"

namespace fc::coord {
namespace {

using ::testing::HasSubstr;
using fc::coord::testing::RunUntil;
using fc::coord::testing::TempDir;

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void TearDown() override { Close(); }

  void Open() {
    auto s = store::Store::Open({dir_.file("db"), 1},
                                [this](std::function<void()> f) { boost::asio::post(io_, std::move(f)); }, &reg_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    store::Writer* w = &store_->writer();
    sched_ = std::make_unique<Scheduler>(
        cfg_, &clock_, [w](store::WriteBatch b, Scheduler::CommitDone d) { w->Submit(std::move(b), std::move(d)); },
        &reg_);
    sched_->Recover(store_->TakeSnapshot());
  }
  void Close() {
    if (store_) store_->writer().Stop();
    RunUntil(io_, [] { return false; }, std::chrono::milliseconds(20));
    sched_.reset();
    store_.reset();
  }
  // Simulates a coordinator restart on the same database.
  void Restart() {
    Close();
    Open();
  }

  template <typename T>
  StatusOr<T> Await(const std::function<void(Reply<T>)>& start) {
    std::optional<StatusOr<T>> got;
    start([&](StatusOr<T> r) { got.emplace(std::move(r)); });
    EXPECT_TRUE(RunUntil(io_, [&] { return got.has_value(); })) << "no reply";
    if (!got) return InternalError("no reply");
    return std::move(*got);
  }
  Status AwaitStatus(const std::function<void(StatusReply)>& start) {
    std::optional<Status> got;
    start([&](Status s) { got = s; });
    EXPECT_TRUE(RunUntil(io_, [&] { return got.has_value(); })) << "no reply";
    return got.value_or(InternalError("no reply"));
  }

  SubmitResult Submit(const std::string& yaml, const std::string& key = "") {
    auto spec = dag::ParseExperiment(yaml);
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    auto r = Await<SubmitResult>([&](Reply<SubmitResult> cb) {
      sched_->Submit(SubmitRequest{std::move(*spec), yaml, key}, cb);
    });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : SubmitResult{};
  }
  std::string Register(const std::string& name, int slots = 4, Resources res = {},
                       std::vector<std::string> kinds = {}, std::vector<Fence> running = {}) {
    RegisterRequest req;
    req.name = name;
    req.slots = slots;
    req.resources = std::move(res);
    req.kinds = std::move(kinds);
    req.running = std::move(running);
    auto r = Await<RegisterResult>([&](Reply<RegisterResult> cb) { sched_->RegisterWorker(req, cb); });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->worker_id : "";
  }
  std::vector<Lease> Acquire(const std::string& worker, int slots = 1) {
    auto r = Await<std::vector<Lease>>([&](Reply<std::vector<Lease>> cb) { sched_->AcquireJobs(worker, slots, 0, cb); });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<Lease>{};
  }
  Status Complete(const Fence& f, std::vector<Artifact> outs = {}, std::string result = "") {
    return AwaitStatus([&](StatusReply cb) { sched_->ReportComplete(f, outs, result, cb); });
  }
  Status Fail(const Fence& f, const std::string& err, bool permanent = false) {
    return AwaitStatus([&](StatusReply cb) { sched_->ReportFailed(f, err, permanent, false, cb); });
  }
  JobState StateOf(const std::string& id) {
    const JobRow* j = sched_->FindJob(id);
    return j ? j->state : JobState::kUnspecified;
  }
  // The job's row as committed in the database.
  JobRow Committed(const std::string& id) {
    auto conn = store::Connection::Open(dir_.file("db"), true);
    auto j = store::GetJob(**conn, id);
    return (j.ok() && *j) ? **j : JobRow{};
  }
  void Tick(int64_t ms) {
    clock_.Advance(ms);
    sched_->OnTimer();
    RunUntil(io_, [] { return false; }, std::chrono::milliseconds(30));
  }

  TempDir dir_;
  boost::asio::io_context io_;
  FakeClock clock_;
  metrics::Registry reg_;
  SchedulerConfig cfg_{/*lease_ttl_ms=*/10000, /*heartbeat_ms=*/1000, /*retry_backoff_ms=*/1000,
                       /*retry_backoff_max_ms=*/3000, /*max_wait_ms=*/10000};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Scheduler> sched_;
};

constexpr const char* kChain = "experiment: chain\njobs:\n  a: {kind: sleep, seconds: 0}\n  b: {kind: sleep, after: [a]}\n";

TEST_F(SchedulerTest, CompletingAJobMakesDownstreamReadyWithItsOutputsAsInputs) {
  SubmitResult s = Submit(kChain);
  const std::string e = s.experiment.row.id;
  EXPECT_EQ(s.experiment.jobs_by_state.at("READY"), 1);
  EXPECT_EQ(s.experiment.jobs_by_state.at("PENDING"), 1);
  std::string w = Register("w1");
  auto leases = Acquire(w, 4);
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0].job.name, "a");
  EXPECT_EQ(leases[0].fence.attempt, 1);
  EXPECT_EQ(leases[0].fence.lease_epoch, 1);
  EXPECT_EQ(StateOf(e + "/b"), JobState::kPending);
  ASSERT_TRUE(Complete(leases[0].fence, {{"out", "abc", "file", "/x", 3}}, R"({"loss":1})").ok());
  EXPECT_EQ(StateOf(e + "/a"), JobState::kSucceeded);
  EXPECT_EQ(StateOf(e + "/b"), JobState::kReady);
  EXPECT_EQ(Committed(e + "/b").state, JobState::kReady);
  auto next = Acquire(w);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].job.name, "b");
  ASSERT_EQ(next[0].inputs.count("a"), 1u);
  EXPECT_EQ(next[0].inputs.at("a").outputs[0].sha256, "abc");
  EXPECT_EQ(next[0].inputs.at("a").result_json, R"({"loss":1})");
  ASSERT_TRUE(Complete(next[0].fence).ok());
  auto conn = store::Connection::Open(dir_.file("db"), true);
  auto exp = store::GetExperiment(**conn, e);
  EXPECT_EQ((*exp)->state, ExperimentState::kSucceeded);
}

TEST_F(SchedulerTest, ExpiredLeaseRequeuesWithNextAttemptAndFencesTheOldOne) {
  std::string e = Submit(kChain).experiment.row.id;
  std::string w = Register("w1");
  Fence old = Acquire(w)[0].fence;
  Tick(cfg_.lease_ttl_ms + 1);
  EXPECT_EQ(StateOf(e + "/a"), JobState::kReady);
  EXPECT_EQ(sched_->lease_expiries(), 1);
  EXPECT_EQ(sched_->FindJob(e + "/a")->attempt, 2);
  EXPECT_THAT(sched_->FindJob(e + "/a")->error, HasSubstr("lease expired on worker w1"));
  std::string w2 = Register("w2");
  Fence fresh = Acquire(w2)[0].fence;
  EXPECT_EQ(fresh.attempt, 2);
  EXPECT_EQ(fresh.lease_epoch, 2);
  Status stale = Complete(old);
  EXPECT_EQ(stale.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(stale.message(), "stale attempt 1 (current 2) for job " + e + "/a");
  EXPECT_EQ(StateOf(e + "/a"), JobState::kLeased);
  JobRow row = Committed(e + "/a");
  EXPECT_EQ(row.state, JobState::kLeased);
  EXPECT_EQ(row.attempt, 2);
  EXPECT_TRUE(Complete(fresh).ok());
}

TEST_F(SchedulerTest, HeartbeatsRenewLeases) {
  std::string e = Submit(kChain).experiment.row.id;
  std::string w = Register("w1");
  Fence f = Acquire(w)[0].fence;
  for (int i = 0; i < 5; ++i) {
    Tick(cfg_.lease_ttl_ms - 100);
    auto hb = sched_->Heartbeat(w, {f});
    ASSERT_TRUE(hb.ok());
    EXPECT_TRUE(hb->stale.empty());
  }
  EXPECT_EQ(StateOf(e + "/a"), JobState::kLeased);
  EXPECT_EQ(sched_->lease_expiries(), 0);
  EXPECT_EQ(sched_->Heartbeat("w-nobody", {}).status().code(), StatusCode::kNotFound);
}

TEST_F(SchedulerTest, RetriesBackOffExponentiallyUpToTheCap) {
  std::string e = Submit("experiment: r\njobs:\n  a: {kind: fail, retries: 4}\n").experiment.row.id;
  std::string w = Register("w1");
  const std::vector<int64_t> expected = {1000, 2000, 3000, 3000};  // base 1000, cap 3000
  for (size_t i = 0; i < expected.size(); ++i) {
    auto l = Acquire(w);
    ASSERT_EQ(l.size(), 1u) << "attempt " << i + 1;
    ASSERT_TRUE(Fail(l[0].fence, "boom").ok());
    const JobRow* j = sched_->FindJob(e + "/a");
    EXPECT_EQ(j->state, JobState::kReady);
    EXPECT_EQ(j->not_before_ms - clock_.WallMs(), expected[i]);
    EXPECT_TRUE(Acquire(w).empty()) << "leased during backoff";
    Tick(expected[i] - 1);
    EXPECT_TRUE(Acquire(w).empty()) << "leased 1 ms early";
    Tick(1);
  }
  auto last = Acquire(w);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].fence.attempt, 5);
  ASSERT_TRUE(Fail(last[0].fence, "boom").ok());
  EXPECT_EQ(StateOf(e + "/a"), JobState::kFailed);
  EXPECT_THAT(sched_->FindJob(e + "/a")->error, HasSubstr("boom (attempt 5 of 5)"));
}

TEST_F(SchedulerTest, PermanentFailureIsNotRetriedAndCancelsDependents) {
  std::string e = Submit("experiment: p\njobs:\n  a: {kind: fail, retries: 5}\n  b: {kind: sleep, after: [a]}\n"
                         "  c: {kind: sleep, after: [b]}\n  d: {kind: sleep}\n").experiment.row.id;
  std::string w = Register("w1");
  auto l = Acquire(w, 1);
  ASSERT_EQ(l[0].job.name, "a");
  ASSERT_TRUE(Fail(l[0].fence, "bad parameter", true).ok());
  EXPECT_EQ(StateOf(e + "/a"), JobState::kFailed);
  EXPECT_TRUE(sched_->FindJob(e + "/a")->permanent_failure);
  EXPECT_EQ(StateOf(e + "/b"), JobState::kCancelled);
  EXPECT_EQ(StateOf(e + "/c"), JobState::kCancelled);
  EXPECT_EQ(sched_->FindJob(e + "/b")->error, "dependency 'a' failed");
  EXPECT_EQ(StateOf(e + "/d"), JobState::kReady);  // independent branch unaffected
  auto d = Acquire(w);
  ASSERT_TRUE(Complete(d[0].fence).ok());
  auto conn = store::Connection::Open(dir_.file("db"), true);
  EXPECT_EQ((*store::GetExperiment(**conn, e))->state, ExperimentState::kFailed);
  // Operator retry revives the failed job and the jobs cancelled because of it.
  auto r = Await<JobRow>([&](Reply<JobRow> cb) { sched_->RetryJob(e + "/a", cb); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, JobState::kReady);
  EXPECT_EQ(r->attempt, 2);
  EXPECT_EQ(StateOf(e + "/b"), JobState::kPending);
  EXPECT_EQ(StateOf(e + "/c"), JobState::kPending);
  EXPECT_EQ((*store::GetExperiment(**conn, e))->state, ExperimentState::kRunning);
  auto again = Await<JobRow>([&](Reply<JobRow> cb) { sched_->RetryJob(e + "/d", cb); });
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(SchedulerTest, HigherPriorityFirstThenSubmissionOrder) {
  std::string e = Submit("experiment: prio\njobs:\n  low: {kind: sleep, priority: 1}\n  a: {kind: sleep, priority: 5}\n"
                         "  b: {kind: sleep, priority: 5}\n  mid: {kind: sleep, priority: 3}\n").experiment.row.id;
  std::string w = Register("w1");
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) order.push_back(Acquire(w)[0].job.name);
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "mid", "low"}));
}

TEST_F(SchedulerTest, MatchesGpusMemoryLabelsAndKinds) {
  std::string e = Submit("experiment: m\njobs:\n  big: {kind: sleep, gpus: 2, gpu_memory: 16GiB, labels: {zone: a}}\n")
                      .experiment.row.id;
  EXPECT_TRUE(Acquire(Register("cpu")).empty());
  EXPECT_TRUE(Acquire(Register("small", 4, {2, 8192, {{"zone", "a"}}})).empty());
  EXPECT_TRUE(Acquire(Register("one", 4, {1, 81920, {{"zone", "a"}}})).empty());
  EXPECT_TRUE(Acquire(Register("zoneb", 4, {2, 81920, {{"zone", "b"}}})).empty());
  EXPECT_TRUE(Acquire(Register("failonly", 4, {8, 81920, {{"zone", "a"}}}, {"fail"})).empty());
  auto l = Acquire(Register("fits", 4, {2, 24576, {{"zone", "a"}, {"rack", "7"}}}, {"sleep"}));
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].job.name, "big");
}

TEST_F(SchedulerTest, GpusInUseAreNotPromisedTwice) {
  Submit("experiment: g\njobs:\n  x: {kind: sleep, gpus: 1}\n  y: {kind: sleep, gpus: 1}\n  z: {kind: sleep, gpus: 1}\n");
  std::string w = Register("two-gpus", 8, {2, 0, {}});
  EXPECT_EQ(Acquire(w, 8).size(), 2u);
  EXPECT_TRUE(Acquire(w, 8).empty());
}

TEST_F(SchedulerTest, DrainedAndCordonedWorkersGetNoJobs) {
  Submit("experiment: d\njobs:\n  a: {kind: sleep}\n");
  std::string w = Register("w1");
  auto drained = Await<WorkerView>([&](Reply<WorkerView> cb) { sched_->SetDrain("w1", false, cb); });
  ASSERT_TRUE(drained.ok());
  EXPECT_TRUE(drained->row.draining);
  EXPECT_TRUE(Acquire(w).empty());
  EXPECT_TRUE(sched_->Heartbeat(w, {})->drain);
  ASSERT_TRUE(Await<WorkerView>([&](Reply<WorkerView> cb) { sched_->SetDrain(w, true, cb); }).ok());
  ASSERT_TRUE(Await<WorkerView>([&](Reply<WorkerView> cb) { sched_->SetCordon("w1", false, cb); }).ok());
  EXPECT_TRUE(Acquire(w).empty());
  EXPECT_FALSE(sched_->Heartbeat(w, {})->drain);
  ASSERT_TRUE(Await<WorkerView>([&](Reply<WorkerView> cb) { sched_->SetCordon("w1", true, cb); }).ok());
  EXPECT_EQ(Acquire(w).size(), 1u);
  EXPECT_EQ(Await<WorkerView>([&](Reply<WorkerView> cb) { sched_->SetDrain("ghost", false, cb); }).status().code(),
            StatusCode::kNotFound);
}

TEST_F(SchedulerTest, CancellingARunningJobReachesTheWorkerThroughHeartbeat) {
  std::string e = Submit(kChain).experiment.row.id;
  std::string w = Register("w1");
  Fence f = Acquire(w)[0].fence;
  auto c = Await<JobRow>([&](Reply<JobRow> cb) { sched_->CancelJob(e + "/a", "user asked", cb); });
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->state, JobState::kCancelled);
  EXPECT_EQ(StateOf(e + "/b"), JobState::kCancelled);  // downstream of a cancelled job
  auto hb = sched_->Heartbeat(w, {f});
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(hb->cancel_job_ids, std::vector<std::string>{e + "/a"});
  auto progress = Await<bool>([&](Reply<bool> cb) { sched_->ReportProgress(f, 0.5, "half", cb); });
  EXPECT_TRUE(progress.ok() && *progress) << "progress reply must say cancel";
  EXPECT_EQ(Complete(f).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(AwaitStatus([&](StatusReply cb) { sched_->ReportFailed(f, "stopped", false, true, cb); }).ok());
  EXPECT_EQ(Committed(e + "/a").state, JobState::kCancelled);
  auto twice = Await<JobRow>([&](Reply<JobRow> cb) { sched_->CancelJob(e + "/a", "", cb); });
  EXPECT_EQ(twice.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(SchedulerTest, CancelExperimentCancelsEveryOpenJob) {
  std::string e = Submit(kChain).experiment.row.id;
  auto r = Await<ExperimentView>([&](Reply<ExperimentView> cb) { sched_->CancelExperiment(e, "stop", cb); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->row.state, ExperimentState::kCancelled);
  EXPECT_EQ(r->jobs_by_state.at("CANCELLED"), 2);
}

TEST_F(SchedulerTest, ReleasedJobGoesBackWithoutPenalty) {
  std::string e = Submit(kChain).experiment.row.id;
  std::string w = Register("w1");
  Fence f = Acquire(w)[0].fence;
  ASSERT_TRUE(AwaitStatus([&](StatusReply cb) { sched_->ReleaseJob(f, "draining", cb); }).ok());
  const JobRow* j = sched_->FindJob(e + "/a");
  EXPECT_EQ(j->state, JobState::kReady);
  EXPECT_EQ(j->attempt, 1);
  Fence again = Acquire(w)[0].fence;
  EXPECT_EQ(again.attempt, 1);
  EXPECT_EQ(again.lease_epoch, 2);
  EXPECT_EQ(Complete(f).message(), "stale lease epoch 1 (current 2) for job " + e + "/a");
}

TEST_F(SchedulerTest, StartedAndProgressAreRecorded) {
  std::string e = Submit(kChain).experiment.row.id;
  std::string w = Register("w1");
  Fence f = Acquire(w)[0].fence;
  ASSERT_TRUE(AwaitStatus([&](StatusReply cb) { sched_->ReportStarted(f, cb); }).ok());
  EXPECT_EQ(StateOf(e + "/a"), JobState::kRunning);
  auto p = Await<bool>([&](Reply<bool> cb) { sched_->ReportProgress(f, 0.25, "step 5", cb); });
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(*p);
  JobRow row = Committed(e + "/a");
  EXPECT_EQ(row.state, JobState::kRunning);
  EXPECT_DOUBLE_EQ(row.progress, 0.25);
  EXPECT_EQ(row.progress_message, "step 5");
  auto bad = Await<bool>([&](Reply<bool> cb) { sched_->ReportProgress(f, 7, "", cb); });
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SchedulerTest, IdempotentSubmitReturnsTheSameExperiment) {
  SubmitResult a = Submit(kChain, "k1");
  SubmitResult b = Submit(kChain, "k1");
  EXPECT_FALSE(a.existed);
  EXPECT_TRUE(b.existed);
  EXPECT_EQ(a.experiment.row.id, b.experiment.row.id);
  SubmitResult c = Submit(kChain);  // key = spec hash
  SubmitResult d = Submit(kChain);
  EXPECT_NE(c.experiment.row.id, a.experiment.row.id);
  EXPECT_EQ(c.experiment.row.id, d.experiment.row.id);
  EXPECT_TRUE(d.existed);
  auto spec = dag::ParseExperiment("experiment: chain\njobs:\n  a: {kind: sleep, seconds: 9}\n");
  auto clash = Await<SubmitResult>([&](Reply<SubmitResult> cb) { sched_->Submit({*spec, "", "k1"}, cb); });
  EXPECT_EQ(clash.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(clash.status().message(), HasSubstr("different spec"));
}

TEST_F(SchedulerTest, LongPollIsAnsweredWhenAJobBecomesReadyOrAtItsDeadline) {
  std::string w = Register("w1");
  std::optional<StatusOr<std::vector<Lease>>> got;
  sched_->AcquireJobs(w, 1, 5000, [&](StatusOr<std::vector<Lease>> r) { got.emplace(std::move(r)); });
  RunUntil(io_, [] { return false; }, std::chrono::milliseconds(20));
  EXPECT_FALSE(got.has_value());
  Submit(kChain);
  ASSERT_TRUE(RunUntil(io_, [&] { return got.has_value(); }));
  ASSERT_TRUE(got->ok());
  EXPECT_EQ((*got)->size(), 1u);
  got.reset();
  sched_->AcquireJobs(w, 1, 5000, [&](StatusOr<std::vector<Lease>> r) { got.emplace(std::move(r)); });
  Tick(4999);
  EXPECT_FALSE(got.has_value());
  Tick(1);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE((*got)->empty());
}

TEST_F(SchedulerTest, RecoveredLeasesGetAFreshTtlAndReRegisteredWorkersCarryOn) {
  std::string e = Submit("experiment: rec\njobs:\n  a: {kind: sleep}\n  b: {kind: sleep}\n").experiment.row.id;
  std::string w = Register("w1");
  auto leases = Acquire(w, 2);
  ASSERT_EQ(leases.size(), 2u);
  Tick(cfg_.lease_ttl_ms - 10);
  Restart();
  EXPECT_EQ(StateOf(e + "/a"), JobState::kLeased);
  Tick(20);  // past the original deadline: the recovered lease has a fresh TTL
  EXPECT_EQ(StateOf(e + "/a"), JobState::kLeased);
  EXPECT_EQ(sched_->lease_expiries(), 0);
  // w1 comes back still running only `a`, and presents a stale fence for `b`.
  Fence stale_b = leases[1].fence;
  stale_b.lease_epoch = 99;
  RegisterRequest req;
  req.name = "w1";
  req.slots = 4;
  req.running = {leases[0].fence, stale_b};
  auto r = Await<RegisterResult>([&](Reply<RegisterResult> cb) { sched_->RegisterWorker(req, cb); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->worker_id, w);  // same name, same identity
  ASSERT_EQ(r->rejected.size(), 1u);
  EXPECT_EQ(r->rejected[0].job_id, leases[1].job.id);
  EXPECT_EQ(StateOf(leases[1].job.id), JobState::kReady);  // requeued: the worker lost it
  EXPECT_EQ(sched_->FindJob(leases[1].job.id)->attempt, 2);
  EXPECT_TRUE(Complete(leases[0].fence).ok());  // the surviving attempt finishes normally
  Tick(cfg_.lease_ttl_ms + 1);
  EXPECT_EQ(StateOf(e + "/a"), JobState::kSucceeded);
}

TEST_F(SchedulerTest, UnknownWorkerAndJobAreNotFound) {
  auto r = Await<std::vector<Lease>>([&](Reply<std::vector<Lease>> cb) { sched_->AcquireJobs("w-x", 1, 0, cb); });
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Complete(Fence{"nope/a", 1, 1}).code(), StatusCode::kNotFound);
  RegisterRequest bad;
  bad.name = "w";
  bad.slots = 0;
  auto reg = Await<RegisterResult>([&](Reply<RegisterResult> cb) { sched_->RegisterWorker(bad, cb); });
  EXPECT_EQ(reg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(reg.status().message(), HasSubstr("field 'slots'"));
}

// Checkpoints reported as blob uris (the agent uploads each one before announcing it): a fan-out
// child carries the checkpoint's uri, and a finetune job re-leased after its worker died gets
// resume_from = the newest uri plus every earlier checkpoint, so another host can fetch them.
constexpr const char* kBlobTrack = R"(experiment: blobs
jobs:
  data: {kind: dataset, task: add_sub}
  base: {kind: model, path: /models/base}
  before: {kind: discover, model: base, data: data.circuit, top: 10%}
  lora: {kind: finetune, model: base, data: data.ft, steps: 30, checkpoint_every: 10, retries: 3}
  track: {kind: reextract, finetune: lora, like: before, include_base: false}
)";

std::string BlobUriOf(int step) { return "blob:" + std::string(62, 'a') + fmt::format("{:02d}", step); }

TEST_F(SchedulerTest, CheckpointBlobUrisReachFanOutChildrenAndEveryResumedAttempt) {
  using nlohmann::json;
  const std::string e = Submit(kBlobTrack).experiment.row.id;
  const std::string w = Register("w1", 8);
  std::map<std::string, Lease> leased;
  auto take = [&](const std::string& worker, const std::string& name) {
    for (int round = 0; round < 6 && !leased.count(name); ++round) {
      for (Lease& l : Acquire(worker, 8)) leased[l.job.name] = l;
    }
    EXPECT_EQ(leased.count(name), 1u) << name << " never leased";
    Lease l = leased[name];
    leased.erase(name);
    return l;
  };
  for (const char* n : {"data", "base", "before"}) {
    ASSERT_TRUE(Complete(take(w, n).fence, {{"out", "", "file", std::string("/o/") + n, 1}}).ok());
  }
  Lease lora = take(w, "lora");
  EXPECT_FALSE(json::parse(lora.job.params_json).contains("resume_from"));
  auto checkpoint = [&](const Fence& f, int step) {
    json m = {{"checkpoint", {{"step", step}, {"path", BlobUriOf(step)}, {"local_path", "/w1/ckpt"}}}};
    return Await<bool>([&](Reply<bool> cb) { sched_->ReportProgress(f, 0.5, "ckpt", m.dump(), cb); }).status();
  };
  ASSERT_TRUE(checkpoint(lora.fence, 10).ok());
  ASSERT_TRUE(checkpoint(lora.fence, 20).ok());

  const std::string w2 = Register("w2", 8);
  Lease child = take(w2, "track@10");
  EXPECT_EQ(json::parse(child.job.params_json).at("checkpoint"), BlobUriOf(10));

  Tick(cfg_.lease_ttl_ms + 1);  // w1 (and w2) went silent: leases expire
  ASSERT_EQ(StateOf(e + "/lora"), JobState::kReady);
  const std::string w3 = Register("w3", 8);
  Lease again = take(w3, "lora");
  EXPECT_EQ(again.fence.attempt, 2);
  json p = json::parse(again.job.params_json);
  EXPECT_EQ(p.at("resume_from"), BlobUriOf(20));
  EXPECT_EQ(p.at("resume_checkpoints"), (json{{"10", BlobUriOf(10)}, {"20", BlobUriOf(20)}}));

  // The second attempt re-announces what it resumed from and adds step 30; the third gets all.
  ASSERT_TRUE(checkpoint(again.fence, 20).ok());
  ASSERT_TRUE(checkpoint(again.fence, 30).ok());
  EXPECT_EQ(json::parse(take(w3, "track@30").job.params_json).at("checkpoint"), BlobUriOf(30));
  ASSERT_TRUE(Fail(again.fence, "worker lost its GPU").ok());
  Tick(cfg_.retry_backoff_max_ms + 1);
  Lease third = take(w3, "lora");
  EXPECT_EQ(third.fence.attempt, 3);
  json p3 = json::parse(third.job.params_json);
  EXPECT_EQ(p3.at("resume_from"), BlobUriOf(30));
  EXPECT_EQ(p3.at("resume_checkpoints").size(), 3u);
  EXPECT_EQ(p3.at("resume_checkpoints").at("30"), BlobUriOf(30));
}

}  // namespace
}  // namespace fc::coord
