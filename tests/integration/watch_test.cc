// fcctl watch: follows an experiment to its end (exit 0 iff it succeeded) and resumes from a
// sequence number: --after-seq N prints exactly the events after N, in order.
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/fixture.h"

namespace fc::itest {
namespace {

std::vector<nlohmann::json> JsonLines(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) v.push_back(j);
  }
  return v;
}

int64_t Seq(const nlohmann::json& e) {
  return e["seq"].is_string() ? std::stoll(e["seq"].get<std::string>()) : e["seq"].get<int64_t>();
}

TEST_F(ClusterTest, WatchFollowsToTheEndAndResumesFromASequenceNumber) {
  StartCoordinatorOrDie();
  cluster_->StartWorker("w1");
  WaitWorkersAlive({"w1"});
  std::string id = cluster_->Submit(
      "experiment: watch\njobs:\n  a: {kind: sleep, seconds: 0.4}\n  b: {kind: sleep, seconds: 0.4, after: [a]}\n");
  ASSERT_NE(id, "");

  CommandResult live = cluster_->Fcctl({"watch", id, "-o", "json"}, 30s);
  ASSERT_EQ(live.exit_code, 0) << live.out << live.err;
  auto all = JsonLines(live.out);
  ASSERT_GE(all.size(), 4u) << live.out;  // at least a and b reaching RUNNING and SUCCEEDED
  for (size_t i = 1; i < all.size(); ++i) EXPECT_GT(Seq(all[i]), Seq(all[i - 1]));
  for (const auto& e : all) EXPECT_EQ(e["experiment_id"], id);

  const int64_t mid = Seq(all[all.size() / 2]);
  CommandResult resumed = cluster_->Fcctl({"watch", id, "-o", "json", "--after-seq", std::to_string(mid)}, 30s);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  auto tail = JsonLines(resumed.out);
  std::vector<int64_t> expected, got;
  for (const auto& e : all) {
    if (Seq(e) > mid) expected.push_back(Seq(e));
  }
  for (const auto& e : tail) got.push_back(Seq(e));
  // The live watch stopped at the experiment's end; the resumed one may also see later events.
  ASSERT_GE(got.size(), expected.size());
  EXPECT_EQ(std::vector<int64_t>(got.begin(), got.begin() + expected.size()), expected);
  for (int64_t s : got) EXPECT_GT(s, mid);

  CommandResult human = cluster_->Fcctl({"watch", id}, 30s);
  EXPECT_EQ(human.exit_code, 0);
  EXPECT_NE(human.out.find("SUCCEEDED"), std::string::npos) << human.out;
}

TEST_F(ClusterTest, WatchExitsNonZeroWhenTheExperimentFails) {
  StartCoordinatorOrDie();
  cluster_->StartWorker("w1");
  std::string id = cluster_->Submit(
      "experiment: failing\njobs:\n  bad: {kind: fail, message: kaboom, permanent: true}\n");
  ASSERT_NE(id, "");
  CommandResult w = cluster_->Fcctl({"watch", id}, 30s);
  EXPECT_EQ(w.exit_code, 1) << w.out << w.err;
  EXPECT_NE(w.out.find("FAILED"), std::string::npos) << w.out;
  v1::Job bad = GetJobByName(id, "bad");
  EXPECT_EQ(bad.state(), v1::FAILED);
  EXPECT_NE(bad.error().find("kaboom"), std::string::npos) << bad.error();
  EXPECT_TRUE(bad.permanent_failure());  // INVALID_ARGUMENT from the executor: not retried
}

}  // namespace
}  // namespace fc::itest
