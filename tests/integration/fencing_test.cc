// A report from a stale attempt is rejected: worker A leases a job and goes silent, its lease
// expires, worker B leases the next attempt; A's late completion gets FAILED_PRECONDITION and
// changes nothing, B's completion is the one committed. Driven over the raw WorkerService API
// so the test controls exactly when each "worker" speaks.
#include <thread>

#include "tests/integration/fixture.h"

namespace fc::itest {
namespace {

std::string RegisterFake(Cluster& c, const std::string& name) {
  v1::RegisterWorkerRequest req;
  req.set_name(name);
  req.set_device("cpu");
  req.set_slots(1);
  req.add_kinds("sleep");
  req.set_engine_version("fencing-test");
  v1::RegisterWorkerReply reply;
  grpc::Status s = c.worker_service().RegisterWorker(Ctx().get(), req, &reply);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return reply.worker_id();
}

bool Acquire(Cluster& c, const std::string& worker, v1::LeasedJob* out) {
  for (int i = 0; i < 10; ++i) {
    v1::AcquireJobRequest req;
    req.set_worker_id(worker);
    req.set_free_slots(1);
    req.set_wait_ms(1000);
    v1::AcquireJobReply reply;
    grpc::Status s = c.worker_service().AcquireJob(Ctx(4000).get(), req, &reply);
    if (!s.ok()) return false;
    if (reply.jobs_size() > 0) {
      *out = reply.jobs(0);
      return true;
    }
  }
  return false;
}

grpc::Status Complete(Cluster& c, const v1::Fence& fence, const std::string& result) {
  v1::ReportCompleteRequest req;
  *req.mutable_fence() = fence;
  req.set_result_json(result);
  v1::ReportCompleteReply reply;
  return c.worker_service().ReportComplete(Ctx().get(), req, &reply);
}

TEST_F(ClusterTest, StaleAttemptCompletionIsRejectedAndTheCurrentOneCommits) {
  StartCoordinatorOrDie();
  std::string err;
  std::string id = cluster_->Submit("experiment: fence\njobs:\n  j: {kind: sleep, seconds: 1, retries: 3}\n", &err);
  ASSERT_NE(id, "") << err;

  std::string a = RegisterFake(*cluster_, "silent-a");
  v1::LeasedJob first;
  ASSERT_TRUE(Acquire(*cluster_, a, &first));
  v1::ReportStartedRequest started;
  *started.mutable_fence() = first.fence();
  v1::ReportStartedReply started_reply;
  ASSERT_TRUE(cluster_->worker_service().ReportStarted(Ctx().get(), started, &started_reply).ok());

  // A never heartbeats: after the lease TTL the job goes back for a new attempt.
  std::string b = RegisterFake(*cluster_, "live-b");
  v1::LeasedJob second;
  ASSERT_TRUE(Acquire(*cluster_, b, &second));
  ASSERT_EQ(second.fence().job_id(), first.fence().job_id());
  EXPECT_TRUE(second.fence().attempt() > first.fence().attempt() ||
              second.fence().lease_epoch() > first.fence().lease_epoch());

  grpc::Status stale = Complete(*cluster_, first.fence(), R"({"from":"a"})");
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << stale.error_message();
  EXPECT_NE(stale.error_message().find("stale"), std::string::npos) << stale.error_message();

  grpc::Status current = Complete(*cluster_, second.fence(), R"({"from":"b"})");
  ASSERT_TRUE(current.ok()) << current.error_message();
  v1::GetExperimentReply r = cluster_->WaitExperimentDone(id, 10s);
  EXPECT_EQ(r.experiment().state(), v1::EXP_SUCCEEDED);
  v1::Job j = JobsByName(r)["j"];
  EXPECT_EQ(j.state(), v1::SUCCEEDED);
  EXPECT_NE(j.result_json().find("\"b\""), std::string::npos) << j.result_json();

  // Reporting the stale attempt again after success still changes nothing.
  EXPECT_FALSE(Complete(*cluster_, first.fence(), R"({"from":"a"})").ok());
  EXPECT_NE(GetJobByName(id, "j").result_json().find("\"b\""), std::string::npos);
}

}  // namespace
}  // namespace fc::itest
