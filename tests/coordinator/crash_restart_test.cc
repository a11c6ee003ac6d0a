// Kills a child fc-coordinator with SIGKILL after acknowledged writes (and once in the middle
// of a stream of them), restarts it on the same database and checks that everything
// acknowledged is there: experiments, job states, outputs, attempts and leases; a worker that
// re-registers with its running fences carries on, and nothing runs twice.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fc/v1/experiments.grpc.pb.h"
#include "fc/v1/workers.grpc.pb.h"
#include "tests/coordinator/test_util.h"

namespace fc::coord {
namespace {

namespace pb = fc::v1;
using fc::coord::testing::TempDir;

// $FC_BUILD_DIR/coordinator/fc-coordinator, else found from this test binary's own path
// (<build>/tests/coordinator/<test>).
std::string BinaryPath() {
  if (const char* b = std::getenv("FC_BUILD_DIR")) return std::string(b) + "/coordinator/fc-coordinator";
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
  return (self.parent_path().parent_path().parent_path() / "coordinator" / "fc-coordinator").string();
}

class Child {
 public:
  Child(const TempDir& dir, const std::string& tag) : ready_(dir.file("ready-" + tag + ".json")) {
    std::remove(ready_.c_str());
    const std::string db = dir.file("db"), art = dir.file("artifacts"), log = dir.file("log-" + tag);
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      execl(BinaryPath().c_str(), "fc-coordinator", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0",
            "--db", db.c_str(), "--artifacts", art.c_str(), "--ready-file", ready_.c_str(),
            "--lease-ttl-ms", "60000", "--heartbeat-ms", "1000", "--log-level", "warn", nullptr);
      _exit(127);
    }
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < end) {
      std::ifstream in(ready_);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto j = nlohmann::json::parse(text, nullptr, false);
      if (!j.is_discarded() && j.contains("grpc")) {
        address_ = j["grpc"];
        EXPECT_EQ(j["pid"].get<int>(), pid_);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    auto ch = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    exp = pb::ExperimentService::NewStub(ch);
    work = pb::WorkerService::NewStub(ch);
  }
  ~Child() { Kill(SIGKILL); }
  bool ready() const { return !address_.empty(); }
  // Returns the exit status (or the signal) once the child is gone.
  int Kill(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    return st;
  }

  std::unique_ptr<pb::ExperimentService::Stub> exp;
  std::unique_ptr<pb::WorkerService::Stub> work;

 private:
  std::string ready_, address_;
  pid_t pid_ = -1;
};

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return c;
}

std::string Spec(int n) {
  std::string s = "experiment: crash\njobs:\n";
  for (int i = 0; i < n; ++i) s += fmt::format("  j{}: {{kind: sleep, seconds: 0}}\n", i);
  s += "  last: {kind: sleep, after: [j0, j1]}\n";
  return s;
}

TEST(CrashRestart, AcknowledgedWritesSurviveSigkillAndWorkersCarryOn) {
  TempDir dir;
  std::string exp_id, worker_id;
  pb::Fence running_fence, done_fence;
  {
    Child c(dir, "1");
    ASSERT_TRUE(c.ready()) << "coordinator did not start";
    pb::SubmitExperimentRequest sreq;
    sreq.set_spec(Spec(3));
    sreq.set_idempotency_key("crash-key");
    pb::SubmitExperimentReply srep;
    ASSERT_TRUE(c.exp->SubmitExperiment(Ctx().get(), sreq, &srep).ok());
    exp_id = srep.experiment().id();
    pb::RegisterWorkerRequest rreq;
    rreq.set_name("survivor");
    rreq.set_slots(2);
    pb::RegisterWorkerReply rrep;
    ASSERT_TRUE(c.work->RegisterWorker(Ctx().get(), rreq, &rrep).ok());
    worker_id = rrep.worker_id();
    pb::AcquireJobRequest areq;
    areq.set_worker_id(worker_id);
    areq.set_free_slots(2);
    pb::AcquireJobReply arep;
    ASSERT_TRUE(c.work->AcquireJob(Ctx().get(), areq, &arep).ok());
    ASSERT_EQ(arep.jobs_size(), 2);
    done_fence = arep.jobs(0).fence();
    running_fence = arep.jobs(1).fence();
    pb::ReportCompleteRequest creq;
    *creq.mutable_fence() = done_fence;
    creq.set_result_json(R"({"ok":true})");
    auto* out = creq.add_outputs();
    out->set_name("out");
    out->set_sha256("beef");
    pb::ReportCompleteReply crep;
    ASSERT_TRUE(c.work->ReportComplete(Ctx().get(), creq, &crep).ok());
    int st = c.Kill(SIGKILL);
    ASSERT_TRUE(WIFSIGNALED(st));
  }
  Child c(dir, "2");
  ASSERT_TRUE(c.ready()) << "coordinator did not restart";
  // The acknowledged completion is there, with its outputs.
  pb::GetJobRequest g;
  g.set_id(done_fence.job_id());
  pb::GetJobReply gr;
  ASSERT_TRUE(c.exp->GetJob(Ctx().get(), g, &gr).ok());
  EXPECT_EQ(gr.job().state(), pb::SUCCEEDED);
  EXPECT_EQ(gr.job().outputs(0).sha256(), "beef");
  EXPECT_EQ(gr.job().result_json(), R"({"ok":true})");
  // The acknowledged lease is there with its fence.
  g.set_id(running_fence.job_id());
  ASSERT_TRUE(c.exp->GetJob(Ctx().get(), g, &gr).ok());
  EXPECT_EQ(gr.job().state(), pb::LEASED);
  EXPECT_EQ(gr.job().attempt(), running_fence.attempt());
  EXPECT_EQ(gr.job().worker_id(), worker_id);
  // Same spec + key: the same experiment, not a second one.
  pb::SubmitExperimentRequest sreq;
  sreq.set_spec(Spec(3));
  sreq.set_idempotency_key("crash-key");
  pb::SubmitExperimentReply srep;
  ASSERT_TRUE(c.exp->SubmitExperiment(Ctx().get(), sreq, &srep).ok());
  EXPECT_TRUE(srep.existed());
  EXPECT_EQ(srep.experiment().id(), exp_id);
  // The worker re-registers listing what it still runs: accepted, and it finishes it.
  pb::RegisterWorkerRequest rreq;
  rreq.set_name("survivor");
  rreq.set_slots(2);
  *rreq.add_running() = running_fence;
  pb::Fence bogus = running_fence;
  bogus.set_job_id(done_fence.job_id());  // finished before the crash: must be rejected
  *rreq.add_running() = bogus;
  pb::RegisterWorkerReply rrep;
  ASSERT_TRUE(c.work->RegisterWorker(Ctx().get(), rreq, &rrep).ok());
  EXPECT_EQ(rrep.worker_id(), worker_id);
  ASSERT_EQ(rrep.rejected_size(), 1);
  EXPECT_EQ(rrep.rejected(0).job_id(), done_fence.job_id());
  pb::ReportCompleteRequest creq;
  *creq.mutable_fence() = running_fence;
  pb::ReportCompleteReply crep;
  ASSERT_TRUE(c.work->ReportComplete(Ctx().get(), creq, &crep).ok());
  // Nothing runs twice: only the never-leased jobs are handed out.
  std::set<std::string> leased;
  for (int round = 0; round < 3; ++round) {
    pb::AcquireJobRequest areq;
    areq.set_worker_id(worker_id);
    areq.set_free_slots(2);
    pb::AcquireJobReply arep;
    ASSERT_TRUE(c.work->AcquireJob(Ctx().get(), areq, &arep).ok());
    for (const auto& j : arep.jobs()) {
      EXPECT_TRUE(leased.insert(j.job().name()).second) << j.job().name() << " leased twice";
      EXPECT_NE(j.job().id(), done_fence.job_id());
      EXPECT_NE(j.job().id(), running_fence.job_id());
      pb::ReportCompleteRequest r;
      *r.mutable_fence() = j.fence();
      ASSERT_TRUE(c.work->ReportComplete(Ctx().get(), r, &crep).ok());
    }
  }
  EXPECT_EQ(leased, (std::set<std::string>{"j2", "last"}));
  pb::GetExperimentRequest ge;
  ge.set_id(exp_id);
  pb::GetExperimentReply ger;
  ASSERT_TRUE(c.exp->GetExperiment(Ctx().get(), ge, &ger).ok());
  EXPECT_EQ(ger.experiment().state(), pb::EXP_SUCCEEDED);
  int st = c.Kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "graceful shutdown on SIGTERM";
}

// SIGKILL while a client streams completions: every completion acknowledged before the kill
// is SUCCEEDED after the restart.
TEST(CrashRestart, KillDuringAStreamOfWritesLosesNoAcknowledgedCompletion) {
  TempDir dir;
  std::vector<std::string> acked;
  {
    Child c(dir, "1");
    ASSERT_TRUE(c.ready());
    pb::SubmitExperimentRequest sreq;
    sreq.set_spec(Spec(400));
    pb::SubmitExperimentReply srep;
    ASSERT_TRUE(c.exp->SubmitExperiment(Ctx().get(), sreq, &srep).ok());
    pb::RegisterWorkerRequest rreq;
    rreq.set_name("stream");
    rreq.set_slots(16);
    pb::RegisterWorkerReply rrep;
    ASSERT_TRUE(c.work->RegisterWorker(Ctx().get(), rreq, &rrep).ok());
    std::atomic<bool> stop{false};
    std::thread client([&] {
      while (!stop) {
        pb::AcquireJobRequest areq;
        areq.set_worker_id(rrep.worker_id());
        areq.set_free_slots(16);
        pb::AcquireJobReply arep;
        if (!c.work->AcquireJob(Ctx().get(), areq, &arep).ok()) return;
        for (const auto& j : arep.jobs()) {
          pb::ReportCompleteRequest r;
          *r.mutable_fence() = j.fence();
          pb::ReportCompleteReply rr;
          if (!c.work->ReportComplete(Ctx().get(), r, &rr).ok()) return;
          acked.push_back(j.job().id());
        }
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    c.Kill(SIGKILL);
    stop = true;
    client.join();
  }
  ASSERT_GT(acked.size(), 5u) << "too few writes before the kill to mean anything";
  Child c(dir, "2");
  ASSERT_TRUE(c.ready());
  for (const std::string& id : acked) {
    pb::GetJobRequest g;
    g.set_id(id);
    pb::GetJobReply gr;
    ASSERT_TRUE(c.exp->GetJob(Ctx().get(), g, &gr).ok()) << id;
    EXPECT_EQ(gr.job().state(), pb::SUCCEEDED) << id;
  }
}

}  // namespace
}  // namespace fc::coord
