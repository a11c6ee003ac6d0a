// The scheduler's stage-wise tracking with the real store on a temporary file and a FakeClock:
// a reextract job fans out one discover child per reported checkpoint while the finetune job
// still runs (children durable with the checkpoint, surviving a restart), succeeds with the
// children's circuits as outputs, fails when a child fails, and a finetune job whose lease
// expired resumes from its latest checkpoint on the next attempt.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/dag/parser.h"
#include "coordinator/scheduler/scheduler.h"
#include "coordinator/store/store.h"
#include "common/circuit/selection.h"
#include "coordinator/http/routes.h"
#include "coordinator/tracking/report.h"
#include "coordinator/tracking/tracking_store.h"
#include "tests/coordinator/test_util.h"

namespace fc::coord {
namespace {

using fc::coord::testing::RunUntil;
using fc::coord::testing::TempDir;
using nlohmann::json;

constexpr const char* kTrack = R"(experiment: track
jobs:
  data: {kind: dataset, task: add_sub}
  base: {kind: model, path: /models/base}
  before: {kind: discover, model: base, data: data.circuit, top: 10%, ig_steps: 3}
  lora: {kind: finetune, model: base, data: data.ft, steps: 30, checkpoint_every: 10, retries: 2}
  track: {kind: reextract, finetune: lora, like: before}
  after: {kind: sleep, seconds: 0, after: [track]}
)";

// A 2-layer circuit whose top-6 edges depend on `shift`.
circuit::Circuit Toy(int shift) {
  circuit::GraphConfig cfg{2, 2, false};
  circuit::GraphLayout g(cfg);
  circuit::EdgeScores sc(cfg);
  for (int b = 0; b < g.n_backward(); ++b) {
    for (int f = 0; f < g.Prev(b); ++f) sc.at(f, b) = static_cast<float>((f * 7 + b * 3 + shift) % 13);
  }
  auto c = circuit::MakeCircuit(std::move(sc));
  auto sel = circuit::Selection::Parse("top:6");
  EXPECT_TRUE(c.ok() && sel.ok() && circuit::Select(g, *sel, &*c).ok());
  return *c;
}

class FanoutTest : public ::testing::Test {
 public:
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
  std::string Submit(const std::string& yaml, const std::string& key = "") {
    auto spec = dag::ParseExperiment(yaml);
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    auto r = Await<SubmitResult>([&](Reply<SubmitResult> cb) { sched_->Submit(SubmitRequest{*spec, yaml, key}, cb); });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->experiment.row.id : "";
  }
  std::string Register(const std::string& name, const std::string& engine = "e1") {
    RegisterRequest req;
    req.name = name;
    req.engine_version = engine;
    req.slots = 8;
    auto r = Await<RegisterResult>([&](Reply<RegisterResult> cb) { sched_->RegisterWorker(req, cb); });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->worker_id : "";
  }
  std::vector<Lease> Acquire(const std::string& worker, int slots = 8) {
    auto r = Await<std::vector<Lease>>([&](Reply<std::vector<Lease>> cb) { sched_->AcquireJobs(worker, slots, 0, cb); });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<Lease>{};
  }
  // The lease of `name`: one taken earlier, or leases everything ready (keeping the others).
  Lease Take(const std::string& worker, const std::string& name) {
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (it->job.name == name) {
        Lease l = *it;
        pending_.erase(it);
        return l;
      }
    }
    for (int round = 0; round < 6; ++round) {
      std::optional<Lease> found;
      for (Lease& l : Acquire(worker)) {
        if (l.job.name == name) {
          found = l;
        } else {
          pending_.push_back(l);
        }
      }
      if (found) return *found;
    }
    ADD_FAILURE() << "job " << name << " never leased";
    return {};
  }
  Status Complete(const Fence& f, std::vector<Artifact> outs, const std::string& result = "{}") {
    return AwaitStatus([&](StatusReply cb) { sched_->ReportComplete(f, outs, result, cb); });
  }
  Status Checkpoint(const Fence& f, int64_t step, const std::string& parent, std::string path = "") {
    if (path.empty()) path = "/ckpt/checkpoint-" + std::to_string(step);
    json m = {{"checkpoint",
               {{"step", step}, {"path", path}, {"parent", parent},
                {"name", "checkpoint-" + std::to_string(step)}, {"loss", 1.0 / (step + 1)}, {"accuracy", 0.5},
                {"method", "lora"}}}};
    auto r = Await<bool>([&](Reply<bool> cb) { sched_->ReportProgress(f, 0.5, "ckpt", m.dump(), cb); });
    return r.status();
  }
  Status StepMetric(const Fence& f, int64_t step, double loss) {
    json m = {{"step", step}, {"steps", 30}, {"loss", loss}};
    return Await<bool>([&](Reply<bool> cb) { sched_->ReportProgress(f, 0.4, "step", m.dump(), cb); }).status();
  }
  JobState StateOf(const std::string& id) {
    const JobRow* j = sched_->FindJob(id);
    return j ? j->state : JobState::kUnspecified;
  }
  // Runs the setup jobs (data, base, before) and returns the lora lease.
  Lease StartLora(const std::string& w) {
    for (const char* n : {"data", "base", "before"}) {
      Lease l = Take(w, n);
      EXPECT_TRUE(Complete(l.fence, {{n == std::string("data") ? "ft" : (n == std::string("base") ? "model" : "circuit"),
                                      "", "file", std::string("/out/") + n, 1}},
                           n == std::string("before") ? R"({"nodes": 9, "edges": 20})" : "{}")
                      .ok());
    }
    return Take(w, "lora");
  }

  TempDir dir_;
  boost::asio::io_context io_;
  FakeClock clock_;
  metrics::Registry reg_;
  SchedulerConfig cfg_{/*lease_ttl_ms=*/10000, /*heartbeat_ms=*/1000, /*retry_backoff_ms=*/1000,
                       /*retry_backoff_max_ms=*/3000, /*max_wait_ms=*/10000};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Scheduler> sched_;
  std::vector<Lease> pending_;
};

TEST_F(FanoutTest, CheckpointsFanOutToDiscoverChildrenWhileTheFinetuneJobRuns) {
  const std::string e = Submit(kTrack);
  const std::string w = Register("w1");
  Lease lora = StartLora(w);
  // like (before) succeeded: the reextract runs in the coordinator with the base child at once.
  EXPECT_EQ(StateOf(e + "/track"), JobState::kRunning);
  EXPECT_EQ(StateOf(e + "/track@0"), JobState::kReady);
  ASSERT_TRUE(Checkpoint(lora.fence, 10, "base").ok());
  EXPECT_EQ(StateOf(e + "/track@10"), JobState::kReady);
  EXPECT_EQ(StateOf(e + "/lora"), JobState::kRunning);

  // A second worker gets the child while lora still trains; its params are before's with the
  // checkpoint and the finetune job's base model.
  const std::string w2 = Register("w2");
  std::map<std::string, Lease> kids;
  for (Lease& l : Acquire(w2)) kids[l.job.name] = l;
  for (Lease& l : pending_) kids.emplace(l.job.name, l);  // track@0 may have gone to w1
  ASSERT_EQ(kids.count("track@10"), 1u);
  ASSERT_EQ(kids.count("track@0"), 1u);
  json p = json::parse(kids["track@10"].job.params_json);
  EXPECT_EQ(p.at("checkpoint"), "/ckpt/checkpoint-10");
  EXPECT_EQ(p.at("model"), "base");
  EXPECT_EQ(p.at("data"), "data.circuit");
  EXPECT_EQ(p.at("ig_steps"), 3);
  EXPECT_EQ(kids["track@10"].job.kind, "discover");
  EXPECT_FALSE(json::parse(kids["track@0"].job.params_json).contains("checkpoint"));
  EXPECT_EQ(kids["track@10"].inputs.count("base"), 1u);

  ASSERT_TRUE(Checkpoint(lora.fence, 20, "checkpoint-10").ok());
  ASSERT_TRUE(Complete(kids["track@0"].fence, {{"circuit", "s0", "circuit", "/c/0", 1}}, R"({"nodes":9,"edges":20})").ok());
  ASSERT_TRUE(Complete(kids["track@10"].fence, {{"circuit", "s10", "circuit", "/c/10", 1}}, R"({"nodes":8,"edges":18})").ok());
  EXPECT_EQ(StateOf(e + "/track"), JobState::kRunning);  // lora has not finished
  ASSERT_TRUE(Complete(lora.fence, {{"model", "m", "model", "/m", 1},
                                    {"checkpoint-10", "", "checkpoint", "/ckpt/checkpoint-10", 1},
                                    {"checkpoint-20", "", "checkpoint", "/ckpt/checkpoint-20", 1},
                                    {"checkpoint-30", "", "checkpoint", "/ckpt/checkpoint-30", 1}}).ok());
  // checkpoint-30 was never reported as progress: the outputs add it.
  EXPECT_EQ(StateOf(e + "/track@30"), JobState::kReady);
  std::vector<Lease> rest = Acquire(w2);
  ASSERT_EQ(rest.size(), 2u);
  for (Lease& l : rest) {
    // The finetune job has finished: the checkpoint comes as its output, an input of the child.
    json cp = json::parse(l.job.params_json);
    EXPECT_EQ(cp.at("checkpoint"), "lora") << l.job.name;
    ASSERT_EQ(l.inputs.count("lora"), 1u);
    ASSERT_EQ(l.inputs["lora"].outputs.size(), 1u);
    EXPECT_EQ(l.inputs["lora"].outputs[0].name, "checkpoint-" + l.job.name.substr(6));
    ASSERT_TRUE(Complete(l.fence, {{"circuit", "s" + l.job.name, "circuit", "/c/" + l.job.name, 1}},
                         R"({"nodes":7,"edges":15})").ok());
  }
  EXPECT_EQ(StateOf(e + "/track"), JobState::kSucceeded);
  const JobRow* t = sched_->FindJob(e + "/track");
  ASSERT_FALSE(t->outputs.empty());
  EXPECT_EQ(t->outputs[0].name, "last");
  EXPECT_EQ(t->outputs[0].uri, "/c/track@30");
  EXPECT_EQ(t->outputs.size(), 5u);  // last + circuit-0/10/20/30
  EXPECT_EQ(json::parse(t->result_json).at("checkpoints").size(), 4u);
  EXPECT_EQ(StateOf(e + "/after"), JobState::kReady);

  // The store has the lineage and the circuits.
  auto conn = store::Connection::Open(dir_.file("db"), true);
  ASSERT_TRUE(conn.ok());
  auto chain = tracking::Lineage(**conn, e + "/lora/checkpoint-20");
  ASSERT_TRUE(chain.ok()) << chain.status().ToString();
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_EQ((*chain)[0].name, "checkpoint-20");
  EXPECT_EQ((*chain)[1].name, "checkpoint-10");
  EXPECT_EQ((*chain)[1].parent, "base");
  auto circuits = tracking::ListCircuits(**conn, e);
  ASSERT_TRUE(circuits.ok());
  ASSERT_EQ(circuits->size(), 5u);  // before + 4 children
  EXPECT_EQ((*circuits)[0].step, -1);
  EXPECT_EQ((*circuits)[0].n_edges, 20);
  EXPECT_EQ((*circuits)[2].step, 10);
  EXPECT_EQ((*circuits)[2].checkpoint, e + "/lora/checkpoint-10");

  // With edge scores stored, the tracking view diffs every checkpoint against the base and the
  // previous one.
  auto wc = store::Connection::Open(dir_.file("db"), false);
  ASSERT_TRUE(wc.ok());
  for (int step : {0, 10, 20, 30}) {
    ASSERT_TRUE(tracking::PutCircuitScores(**wc, e + "/track@" + std::to_string(step), Toy(step == 0 ? 0 : step / 10)).ok());
  }
  auto rep = tracking::ExperimentTrackingJson(**conn, e);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  const json& pts = rep->at("tracks").at(0).at("points");
  ASSERT_EQ(pts.size(), 4u);
  EXPECT_EQ(pts[0].at("diff_base").at("edge_jaccard"), 1.0);
  EXPECT_TRUE(pts[0].at("diff_prev").is_null());
  EXPECT_FALSE(pts[1].at("diff_prev").is_null());
  const json& d = pts[1].at("diff_base");
  EXPECT_LT(d.at("edge_jaccard").get<double>(), 1.0);
  EXPECT_EQ(d.at("edges_added_per_layer").size(), 2u);
  EXPECT_EQ(d.at("node_induced_edge_changes").get<int64_t>() + d.at("other_edge_changes").get<int64_t>(),
            d.at("edges_added").get<int64_t>() + d.at("edges_removed").get<int64_t>());
  EXPECT_EQ(pts[1].at("checkpoint_accuracy"), 0.5);
  EXPECT_EQ(pts[1].at("edges"), 18);
  EXPECT_EQ(rep->at("finetunes").at(0).at("checkpoints").size(), 2u);

  // The same views over the HTTP routes.
  http::Routes routes(conn->get(), [](bool) { return std::vector<WorkerView>{}; }, [] { return Status::OK(); }, &reg_);
  http::Response tr = routes.Handle("GET", "/api/v1/experiments/" + e + "/tracking");
  EXPECT_EQ(tr.status, 200) << tr.body;
  EXPECT_EQ(json::parse(tr.body).at("tracks").at(0).at("points").size(), 4u);
  http::Response lin = routes.Handle("GET", "/api/v1/lineage/" + e + "/lora/checkpoint-20");
  EXPECT_EQ(lin.status, 200) << lin.body;
  EXPECT_EQ(json::parse(lin.body).at("lineage").size(), 2u);
  http::Response diff = routes.Handle("GET", "/api/v1/circuits/" + e + "/track@0/diff/" + e + "/track@30");
  EXPECT_EQ(diff.status, 200) << diff.body;
  EXPECT_EQ(json::parse(diff.body).at("edges_added"), pts[3].at("diff_base").at("edges_added"));
  http::Response one = routes.Handle("GET", "/api/v1/circuits/" + e + "/track@10");
  EXPECT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(json::parse(one.body).at("scores_stored"), true);
  EXPECT_EQ(routes.Handle("GET", "/api/v1/circuits/" + e + "/nope").status, 404);
  EXPECT_EQ(routes.Handle("GET", "/api/v1/lineage/" + e + "/lora/checkpoint-7").status, 404);
}

TEST_F(FanoutTest, ChildrenAreDurableWithTheirCheckpointAcrossARestart) {
  const std::string e = Submit(kTrack);
  const std::string w = Register("w1");
  Lease lora = StartLora(w);
  ASSERT_TRUE(Checkpoint(lora.fence, 10, "base").ok());
  ASSERT_TRUE(StepMetric(lora.fence, 12, 0.75).ok());
  Close();
  Open();
  EXPECT_EQ(StateOf(e + "/track"), JobState::kRunning);
  EXPECT_EQ(StateOf(e + "/track@10"), JobState::kReady);
  EXPECT_EQ(StateOf(e + "/lora"), JobState::kRunning);
  // After the restart the link is rebuilt: a new checkpoint still fans out, completion finishes.
  ASSERT_TRUE(Checkpoint(lora.fence, 20, "checkpoint-10").ok());
  EXPECT_EQ(StateOf(e + "/track@20"), JobState::kReady);
  auto conn = store::Connection::Open(dir_.file("db"), true);
  auto metrics = tracking::ListMetrics(**conn, e + "/lora");
  ASSERT_TRUE(metrics.ok());
  ASSERT_EQ(metrics->size(), 1u);
  EXPECT_EQ((*metrics)[0].name, "loss");
  EXPECT_EQ((*metrics)[0].step, 12);
  EXPECT_DOUBLE_EQ((*metrics)[0].value, 0.75);
}

TEST_F(FanoutTest, AFailedChildFailsTheReextractAndCancelsWhatDependsOnIt) {
  const std::string e = Submit(kTrack);
  const std::string w = Register("w1");
  Lease lora = StartLora(w);
  ASSERT_TRUE(Checkpoint(lora.fence, 10, "base").ok());
  Lease child = Take(w, "track@10");
  ASSERT_TRUE(AwaitStatus([&](StatusReply cb) { sched_->ReportFailed(child.fence, "bad checkpoint", true, false, cb); }).ok());
  EXPECT_EQ(StateOf(e + "/track"), JobState::kFailed);
  EXPECT_NE(sched_->FindJob(e + "/track")->error.find("track@10"), std::string::npos);
  EXPECT_EQ(StateOf(e + "/track@0"), JobState::kCancelled);
  EXPECT_EQ(StateOf(e + "/after"), JobState::kCancelled);
}

TEST_F(FanoutTest, AnExpiredFinetuneLeaseResumesFromItsLatestCheckpoint) {
  const std::string e = Submit(kTrack);
  const std::string w = Register("w1");
  Lease lora = StartLora(w);
  EXPECT_FALSE(json::parse(lora.job.params_json).contains("resume_from"));
  ASSERT_TRUE(Checkpoint(lora.fence, 10, "base").ok());
  ASSERT_TRUE(Checkpoint(lora.fence, 20, "checkpoint-10").ok());
  clock_.Advance(cfg_.lease_ttl_ms + 1);  // w1 died: no heartbeat
  sched_->OnTimer();
  RunUntil(io_, [] { return false; }, std::chrono::milliseconds(30));
  EXPECT_EQ(StateOf(e + "/lora"), JobState::kReady);
  const std::string w2 = Register("w2");
  Lease again = Take(w2, "lora");
  EXPECT_EQ(again.fence.attempt, 2);
  EXPECT_EQ(json::parse(again.job.params_json).at("resume_from"), "/ckpt/checkpoint-20");
  // The stale attempt's reports change nothing.
  EXPECT_FALSE(Checkpoint(lora.fence, 30, "checkpoint-20").ok());
  EXPECT_EQ(StateOf(e + "/track@30"), JobState::kUnspecified);
}

TEST_F(FanoutTest, CheckpointsReannouncedByAResumedAttemptKeepTheAttemptThatMadeThem) {
  const std::string e = Submit(kTrack);
  const std::string w = Register("w1");
  Lease lora = StartLora(w);
  const std::string blob10 = "blob:" + std::string(64, 'a');
  ASSERT_TRUE(Checkpoint(lora.fence, 10, "base", blob10).ok());  // uploaded
  ASSERT_TRUE(Checkpoint(lora.fence, 20, "checkpoint-10", "/w1/checkpoint-20").ok());  // upload failed
  clock_.Advance(cfg_.lease_ttl_ms + 1);
  sched_->OnTimer();
  RunUntil(io_, [] { return false; }, std::chrono::milliseconds(30));
  Lease again = Take(Register("w2"), "lora");
  ASSERT_EQ(again.fence.attempt, 2);
  // Attempt 2 links in 10 and 20 and announces them again (now both uploaded), then makes 30.
  const std::string blob20 = "blob:" + std::string(64, 'b');
  ASSERT_TRUE(Checkpoint(again.fence, 10, "base", "/w2/checkpoint-10").ok());
  ASSERT_TRUE(Checkpoint(again.fence, 20, "checkpoint-10", blob20).ok());
  ASSERT_TRUE(Checkpoint(again.fence, 30, "checkpoint-20").ok());
  Close();
  Open();  // the rows, and the scheduler's memory of them, survive a restart
  ASSERT_TRUE(Checkpoint(again.fence, 20, "checkpoint-10", "/w2/checkpoint-20").ok());
  auto conn = store::Connection::Open(dir_.file("db"), true);
  auto rows = tracking::ListCheckpoints(**conn, e, e + "/lora");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  std::map<int64_t, tracking::CheckpointRow> by_step;
  for (const auto& r : *rows) by_step[r.step] = r;
  ASSERT_EQ(by_step.size(), 3u);
  EXPECT_EQ(by_step[10].attempt, 1);
  EXPECT_EQ(by_step[20].attempt, 1);
  EXPECT_EQ(by_step[30].attempt, 2);
  EXPECT_EQ(by_step[10].path, blob10);  // a blob uri is kept over a local path
  EXPECT_EQ(by_step[20].path, blob20);  // the dead host's local path was replaced by the upload
  // The children made for attempt 1's checkpoints are untouched (leased with lora above),
  // attempt 2's new checkpoint fanned out.
  EXPECT_EQ(StateOf(e + "/track@20"), JobState::kLeased);
  EXPECT_EQ(StateOf(e + "/track@30"), JobState::kReady);
}

constexpr const char* kCached = R"(experiment: cached
jobs:
  a: {kind: sleep, seconds: 1}
  b: {kind: sleep, seconds: 2, after: [a]}
  c: {kind: sleep, seconds: 3, after: [a], cache: false}
  d: {kind: sleep, seconds: 4, after: [b]}
)";

// Runs every job of the experiment to success, each with one output named after it.
void RunAll(FanoutTest* t, const std::string& w, int jobs) {
  for (int done = 0; done < jobs;) {
    std::vector<Lease> ls = t->Acquire(w);
    ASSERT_FALSE(ls.empty()) << "nothing to run after " << done << " jobs";
    for (Lease& l : ls) {
      ASSERT_TRUE(t->Complete(l.fence, {{"out", "sha-" + l.job.name, "file", "/o/" + l.job.id, 1}},
                              R"({"ran": ")" + l.job.name + R"("})").ok());
      ++done;
    }
  }
}

TEST_F(FanoutTest, AnIdenticalResubmissionReusesOutputsExceptWhereCacheIsOff) {
  const std::string e1 = Submit(kCached, "first");
  const std::string w = Register("w1");
  RunAll(this, w, 4);
  const std::string e2 = Submit(kCached, "second");
  ASSERT_NE(e1, e2);
  for (const char* n : {"a", "b", "d"}) {
    const JobRow* j = sched_->FindJob(e2 + "/" + n);
    ASSERT_NE(j, nullptr);
    EXPECT_EQ(j->state, JobState::kSucceeded) << n;
    EXPECT_TRUE(j->cached) << n;
    ASSERT_EQ(j->outputs.size(), 1u);
    EXPECT_EQ(j->outputs[0].uri, "/o/" + e1 + "/" + n);
  }
  EXPECT_EQ(StateOf(e2 + "/c"), JobState::kReady);  // cache: false
  EXPECT_FALSE(sched_->FindJob(e2 + "/c")->cached);
  // The flag and the reused outputs are durable.
  Close();
  Open();
  auto conn = store::Connection::Open(dir_.file("db"), true);
  auto b = store::GetJob(**conn, e2 + "/b");
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_TRUE((*b)->cached);
  EXPECT_EQ((*b)->state, JobState::kSucceeded);
  EXPECT_EQ((*b)->outputs.at(0).uri, "/o/" + e1 + "/b");
}

TEST_F(FanoutTest, OneChangedParameterRerunsOnlyWhatDependsOnIt) {
  Submit(kCached, "first");
  const std::string w = Register("w1");
  RunAll(this, w, 4);
  std::string changed = kCached;
  changed.replace(changed.find("seconds: 2"), 10, "seconds: 9");
  const std::string e = Submit(changed, "changed");
  EXPECT_TRUE(sched_->FindJob(e + "/a")->cached);
  EXPECT_EQ(StateOf(e + "/b"), JobState::kReady);
  EXPECT_FALSE(sched_->FindJob(e + "/b")->cached);
  EXPECT_EQ(StateOf(e + "/d"), JobState::kPending);  // its input changes with b
}

TEST_F(FanoutTest, AnotherEngineVersionDoesNotReuseOutputs) {
  Submit(kCached, "first");
  const std::string w = Register("w1", "e1");
  RunAll(this, w, 4);
  Register("w1", "e2");  // the same worker, upgraded
  const std::string e = Submit(kCached, "after-upgrade");
  EXPECT_EQ(StateOf(e + "/a"), JobState::kReady);
  EXPECT_FALSE(sched_->FindJob(e + "/a")->cached);
}

}  // namespace
}  // namespace fc::coord
