// fcctl against a real coordinator: exit codes (3 unreachable, 2 bad DAG with the line, 4 unknown
// id), ids on stdout, and -o json documents that parse.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/integration/fixture.h"

namespace fc::itest {
namespace {

// A loopback port nothing listens on (bound, read, closed).
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

TEST(Fcctl, UnreachableCoordinatorExits3AndNamesTheAddress) {
  std::string fcctl = FindBinary("fcctl");
  ASSERT_NE(fcctl, "");
  std::string addr = "127.0.0.1:" + std::to_string(ClosedPort());
  for (std::vector<std::string> cmd : {std::vector<std::string>{"status", "x"}, {"workers", "-o", "json"},
                                       {"jobs"}, {"watch", "x"}}) {
    cmd.insert(cmd.begin(), {fcctl, "--coordinator", addr});
    CommandResult r = RunCommand(cmd, 20s);
    EXPECT_EQ(r.exit_code, 3) << cmd[3] << ": " << r.err;
    EXPECT_NE(r.err.find("cannot reach the coordinator at " + addr), std::string::npos) << r.err;
  }
  // FC_COORDINATOR is the default address.
  CommandResult env = RunCommand({"/usr/bin/env", "FC_COORDINATOR=" + addr, fcctl, "workers"}, 20s);
  EXPECT_EQ(env.exit_code, 3);
  EXPECT_NE(env.err.find(addr), std::string::npos) << env.err;
}

TEST_F(ClusterTest, BadDagExits2WithTheServersMessageNamingJobFieldAndLine) {
  StartCoordinatorOrDie();
  std::string path = cluster_->dir() + "/bad.yaml";
  std::ofstream(path) << "experiment: bad\njobs:\n  a: {kind: sleep, seconds: 1}\n"
                         "  b: {kind: sleep, seconds: fast, after: [a]}\n";
  CommandResult r = cluster_->Fcctl({"submit", path});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("'b'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("seconds"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 4"), std::string::npos) << r.err;
  // Nothing was stored.
  CommandResult jobs = cluster_->Fcctl({"jobs", "-o", "json"});
  ASSERT_EQ(jobs.exit_code, 0) << jobs.err;
  auto j = nlohmann::json::parse(jobs.out, nullptr, false);
  EXPECT_TRUE(j["jobs"].empty()) << jobs.out;
  // A missing file is bad input too.
  EXPECT_EQ(cluster_->Fcctl({"submit", cluster_->dir() + "/nope.yaml"}).exit_code, 2);
}

TEST_F(ClusterTest, UnknownIdsExit4) {
  StartCoordinatorOrDie();
  for (std::vector<std::string> cmd : {std::vector<std::string>{"status", "no-such-exp"},
                                       {"cancel", "no-such-exp"}, {"cancel", "no-such-exp/job"},
                                       {"retry", "no-such-exp/job"}, {"drain", "no-such-worker"},
                                       {"cordon", "no-such-worker"}, {"watch", "no-such-exp"}}) {
    CommandResult r = cluster_->Fcctl(cmd);
    EXPECT_EQ(r.exit_code, 4) << cmd[0] << " " << cmd[1] << ": " << r.err;
  }
}

TEST_F(ClusterTest, SubmitPrintsTheIdAndReadCommandsPrintParsableJson) {
  StartCoordinatorOrDie();
  cluster_->StartWorker("w1", 1, {"--labels", "zone=a,tier=cpu"});
  WaitWorkersAlive({"w1"});
  const std::string yaml = "experiment: cli\njobs:\n  a: {kind: sleep, seconds: 0.2}\n  b: {kind: sleep, seconds: 0.2, after: [a]}\n";
  CommandResult s = cluster_->Fcctl({"submit", "-", "--key", "k1"}, 30s, yaml);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  std::string id = s.out.substr(0, s.out.find('\n'));
  ASSERT_FALSE(id.empty());
  // Same key + same spec: the same experiment.
  CommandResult again = cluster_->Fcctl({"submit", "-", "--key", "k1", "-o", "json"}, 30s, yaml);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto aj = nlohmann::json::parse(again.out, nullptr, false);
  EXPECT_EQ(aj["experiment"]["id"], id);
  EXPECT_EQ(aj["existed"], true);

  ASSERT_EQ(cluster_->WaitExperimentDone(id, 20s).experiment().state(), v1::EXP_SUCCEEDED);
  CommandResult st = cluster_->Fcctl({"status", id, "-o", "json"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  auto sj = nlohmann::json::parse(st.out, nullptr, false);
  ASSERT_FALSE(sj.is_discarded()) << st.out;
  EXPECT_EQ(sj["experiment"]["state"], "EXP_SUCCEEDED");
  EXPECT_EQ(sj["jobs"].size(), 2u);

  CommandResult human = cluster_->Fcctl({"status", id});
  EXPECT_EQ(human.exit_code, 0);
  EXPECT_NE(human.out.find("SUCCEEDED"), std::string::npos) << human.out;

  CommandResult jobs = cluster_->Fcctl({"jobs", "--experiment", id, "--state", "succeeded", "-o", "json"});
  ASSERT_EQ(jobs.exit_code, 0) << jobs.err;
  EXPECT_EQ(nlohmann::json::parse(jobs.out, nullptr, false)["jobs"].size(), 2u) << jobs.out;
  CommandResult none = cluster_->Fcctl({"jobs", "--experiment", id, "--state", "running", "-o", "json"});
  EXPECT_TRUE(nlohmann::json::parse(none.out, nullptr, false)["jobs"].empty()) << none.out;
  EXPECT_EQ(cluster_->Fcctl({"jobs", "--state", "nonsense"}).exit_code, 2);

  CommandResult ws = cluster_->Fcctl({"workers", "-o", "json"});
  ASSERT_EQ(ws.exit_code, 0) << ws.err;
  auto wj = nlohmann::json::parse(ws.out, nullptr, false);
  ASSERT_EQ(wj["workers"].size(), 1u) << ws.out;
  EXPECT_EQ(wj["workers"][0]["name"], "w1");
  EXPECT_EQ(wj["workers"][0]["resources"]["labels"]["zone"], "a");
  CommandResult wt = cluster_->Fcctl({"workers"});
  EXPECT_NE(wt.out.find("w1"), std::string::npos) << wt.out;

  CommandResult cordon = cluster_->Fcctl({"cordon", "w1", "-o", "json"});
  ASSERT_EQ(cordon.exit_code, 0) << cordon.err;
  EXPECT_EQ(nlohmann::json::parse(cordon.out, nullptr, false)["worker"]["cordoned"], true) << cordon.out;
}

TEST_F(ClusterTest, RetryRerunsAFailedJob) {
  StartCoordinatorOrDie();
  cluster_->StartWorker("w1");
  std::string id = cluster_->Submit("experiment: retry\njobs:\n  f: {kind: fail, message: once, permanent: true}\n");
  ASSERT_NE(id, "");
  ASSERT_TRUE(WaitJobState(id, "f", v1::FAILED, 15s));
  int attempt = GetJobByName(id, "f").attempt();
  CommandResult r = cluster_->Fcctl({"retry", id + "/f", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // It runs again (and fails again, permanently): a new attempt.
  ASSERT_TRUE(Cluster::WaitFor([&] {
    v1::Job j = GetJobByName(id, "f");
    return j.state() == v1::FAILED && j.attempt() > attempt;
  }, 15s));
}

}  // namespace
}  // namespace fc::itest
