// A worker SIGKILLed in the middle of a job loses its lease; the job is re-leased (attempt + 1)
// and finished by another worker.
#include <csignal>

#include "tests/integration/fixture.h"

namespace fc::itest {
namespace {

TEST_F(ClusterTest, WorkerKilledMidJobHasItsJobReleasedAndFinishedByAnother) {
  StartCoordinatorOrDie();
  cluster_->StartWorker("doomed");
  WaitWorkersAlive({"doomed"});
  std::string err;
  std::string id = cluster_->Submit("experiment: kill\njobs:\n  long: {kind: sleep, seconds: 2.5}\n", &err);
  ASSERT_NE(id, "") << err;
  ASSERT_TRUE(WaitJobState(id, "long", v1::RUNNING, 15s));
  int first_attempt = GetJobByName(id, "long").attempt();

  cluster_->worker("doomed").Signal(SIGKILL);
  ASSERT_EQ(cluster_->worker("doomed").Wait(5s), 128 + SIGKILL);
  cluster_->StartWorker("rescuer");

  v1::GetExperimentReply r = cluster_->WaitExperimentDone(id, 30s);
  ASSERT_EQ(r.experiment().state(), v1::EXP_SUCCEEDED);
  v1::Job job = JobsByName(r)["long"];
  EXPECT_EQ(job.state(), v1::SUCCEEDED);
  EXPECT_GT(job.attempt(), first_attempt);
  EXPECT_EQ(ResultFiles("rescuer").size(), 1u);
  EXPECT_TRUE(ResultFiles("doomed").empty());  // killed before it could finish
}

}  // namespace
}  // namespace fc::itest
