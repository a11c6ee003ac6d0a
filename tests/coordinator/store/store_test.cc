// The SQLite store on a temporary file: migrations, newer-schema refusal, group commit, fenced
// updates, sticky failure and reopening after a process died without closing the database.
#include "coordinator/store/store.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

#include "coordinator/store/migrations.h"
#include "tests/coordinator/test_util.h"

namespace fc::coord::store {
namespace {

using fc::coord::testing::TempDir;

// Completions run inline on the writer thread; tests wait on a counter.
struct Inline {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  Writer::Post post() {
    return [](std::function<void()> f) { f(); };
  }
  void Wait(int n) {
    std::unique_lock<std::mutex> l(mu);
    cv.wait_for(l, std::chrono::seconds(10), [&] { return done >= n; });
  }
  void Mark() {
    std::lock_guard<std::mutex> l(mu);
    ++done;
    cv.notify_all();
  }
};

WriteBatch NewExperiment(const std::string& id, int jobs) {
  WriteBatch b;
  ExperimentRow e;
  e.id = id;
  e.name = "exp";
  e.idempotency_key = "key-" + id;
  e.spec_hash = "h";
  e.spec_yaml = "experiment: exp";
  e.canonical_json = "{}";
  e.created_ms = 5;
  b.new_experiments.push_back(e);
  for (int i = 0; i < jobs; ++i) {
    JobRow j;
    j.id = id + "/j" + std::to_string(i);
    j.experiment_id = id;
    j.name = "j" + std::to_string(i);
    j.kind = "sleep";
    j.state = i == 0 ? JobState::kReady : JobState::kPending;
    j.attempt = 1;
    j.seq = i + 1;
    j.resources.labels["zone"] = "a";
    if (i > 0) j.depends_on = {"j0"};
    b.new_jobs.push_back(j);
  }
  EventRow ev;
  ev.experiment_id = id;
  ev.type = "experiment_state";
  b.events.push_back(ev);
  return b;
}

TEST(Migrations, FreshDatabaseGetsLatestVersionAndStrictTables) {
  TempDir dir;
  auto conn = Connection::Open(dir.file("db"), false);
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(Migrate(**conn).ok());
  EXPECT_EQ(*SchemaVersion(**conn), LatestSchemaVersion());
  EXPECT_GE(LatestSchemaVersion(), 1);
  // STRICT: a text in an INTEGER column is refused.
  Status bad = (*conn)->Exec("INSERT INTO events (unix_ms, experiment_id, job_id, type, job_state, message, progress) "
                             "VALUES ('soon', '', '', '', 0, '', 0)");
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(Migrate(**conn).ok());  // idempotent
}

TEST(Migrations, NewerDatabaseIsRefusedNamingBothVersions) {
  TempDir dir;
  {
    auto conn = Connection::Open(dir.file("db"), false);
    ASSERT_TRUE(Migrate(**conn).ok());
    ASSERT_TRUE((*conn)->Exec(fmt::format("PRAGMA user_version={}", LatestSchemaVersion() + 5)).ok());
  }
  auto conn = Connection::Open(dir.file("db"), false);
  Status s = Migrate(**conn);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find(fmt::format("schema version {}, newer than this binary's {}",
                                         LatestSchemaVersion() + 5, LatestSchemaVersion())),
            std::string::npos)
      << s.message();
  Inline in;
  auto store = Store::Open({dir.file("db"), 1}, in.post(), nullptr);
  EXPECT_FALSE(store.ok());
}

TEST(Migrations, UpgradeBacksUpAndAppliesOnlyNewerMigrations) {
  TempDir dir;
  const std::vector<Migration> v1 = {{1, "0001_a", "CREATE TABLE a (x INTEGER) STRICT;"}};
  const std::vector<Migration> v2 = {{1, "0001_a", "CREATE TABLE a (x INTEGER) STRICT;"},
                                     {2, "0002_b", "CREATE TABLE b (y TEXT) STRICT;"}};
  auto conn = Connection::Open(dir.file("db"), false);
  ASSERT_TRUE(Migrate(**conn, v1).ok());
  ASSERT_TRUE((*conn)->Exec("INSERT INTO a VALUES (7)").ok());
  ASSERT_TRUE(Migrate(**conn, v2).ok());
  EXPECT_EQ(*SchemaVersion(**conn), 2);
  EXPECT_TRUE(std::filesystem::exists(dir.file("db.v1.bak")));
  EXPECT_TRUE((*conn)->Exec("INSERT INTO b VALUES ('z')").ok());
  // A failing migration leaves the version where it was.
  const std::vector<Migration> v3 = {v2[0], v2[1], {3, "0003_bad", "CREATE TABLE a (dup INTEGER);"}};
  Status s = Migrate(**conn, v3);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("migration 3 (0003_bad)"), std::string::npos);
  EXPECT_EQ(*SchemaVersion(**conn), 2);
}

TEST(Store, CommitsThenLoadsSnapshotAfterReopen) {
  TempDir dir;
  Inline in;
  {
    auto store = Store::Open({dir.file("db"), 1}, in.post(), nullptr);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Status got;
    int64_t seq = 0;
    (*store)->writer().Submit(NewExperiment("e1", 3), [&](const Status& s, const WriteBatch& b) {
      got = s;
      seq = b.events[0].seq;
      in.Mark();
    });
    in.Wait(1);
    ASSERT_TRUE(got.ok()) << got.ToString();
    EXPECT_EQ(seq, 1);
  }
  auto store = Store::Open({dir.file("db"), 1}, in.post(), nullptr);
  ASSERT_TRUE(store.ok());
  Snapshot snap = (*store)->TakeSnapshot();
  ASSERT_EQ(snap.experiments.size(), 1u);
  ASSERT_EQ(snap.jobs.size(), 3u);
  EXPECT_EQ(snap.jobs[1].depends_on, std::vector<std::string>{"j0"});
  EXPECT_EQ(snap.jobs[1].resources.labels.at("zone"), "a");
  EXPECT_EQ(snap.max_event_seq, 1);
  EXPECT_EQ(snap.max_job_seq, 3);
}

TEST(Store, ManyQueuedBatchesShareGroupCommits) {
  TempDir dir;
  Inline in;
  metrics::Registry reg;
  auto store = Store::Open({dir.file("db"), 1}, in.post(), &reg);
  ASSERT_TRUE(store.ok());
  constexpr int kBatches = 400;
  std::atomic<int> ok{0};
  for (int i = 0; i < kBatches; ++i) {
    (*store)->writer().Submit(NewExperiment("e" + std::to_string(i), 2), [&](const Status& s, const WriteBatch&) {
      ok += s.ok();
      in.Mark();
    });
  }
  in.Wait(kBatches);
  EXPECT_EQ(ok.load(), kBatches);
  auto* h = reg.GetHistogram("fc_store_group_size", "", {});
  auto snap = h->Get();
  EXPECT_EQ(static_cast<int>(snap.sum), kBatches);
  EXPECT_LT(snap.count, static_cast<uint64_t>(kBatches)) << "every batch got its own commit";
}

TEST(Store, FencedUpdateMismatchFailsTheGroupAndStaysFailed) {
  TempDir dir;
  Inline in;
  auto store = Store::Open({dir.file("db"), 1}, in.post(), nullptr);
  ASSERT_TRUE(store.ok());
  Status first, second;
  (*store)->writer().Submit(NewExperiment("e1", 1), [&](const Status&, const WriteBatch&) { in.Mark(); });
  in.Wait(1);
  WriteBatch upd;
  JobUpdate u;
  u.row.id = "e1/j0";
  u.row.state = JobState::kSucceeded;
  u.row.attempt = 1;
  u.expect_attempt = 3;  // the row holds attempt 1: a stale write
  u.expect_epoch = 0;
  upd.job_updates.push_back(u);
  (*store)->writer().Submit(std::move(upd), [&](const Status& s, const WriteBatch&) {
    first = s;
    in.Mark();
  });
  in.Wait(2);
  EXPECT_EQ(first.code(), StatusCode::kInternal);
  EXPECT_NE(first.message().find("fenced update of job e1/j0"), std::string::npos);
  (*store)->writer().Submit(NewExperiment("e2", 1), [&](const Status& s, const WriteBatch&) {
    second = s;
    in.Mark();
  });
  in.Wait(3);
  EXPECT_FALSE(second.ok()) << "failure must be sticky";
  EXPECT_FALSE((*store)->writer().failed().ok());
}

TEST(Store, InjectedIoErrorRollsBackTheWholeGroup) {
  TempDir dir;
  Inline in;
  {
    auto store = Store::Open({dir.file("db"), 1}, in.post(), nullptr);
    ASSERT_TRUE(store.ok());
    (*store)->writer().InjectFailureForTest(DataLossError("disk I/O error (injected)"));
    Status s;
    (*store)->writer().Submit(NewExperiment("lost", 2), [&](const Status& st, const WriteBatch&) {
      s = st;
      in.Mark();
    });
    in.Wait(1);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  }
  auto store = Store::Open({dir.file("db"), 1}, in.post(), nullptr);
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->TakeSnapshot().experiments.empty());
}

// A child process commits and dies with _exit (no close, no checkpoint): every acknowledged
// commit is in the WAL and visible after reopening.
TEST(Store, ReopenAfterCrashLikeExitKeepsAcknowledgedCommits) {
  TempDir dir;
  const std::string db = dir.file("db");
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::mutex mu;
    std::condition_variable cv;
    int n = 0;
    auto store = Store::Open({db, 1}, [](std::function<void()> f) { f(); }, nullptr);
    if (!store.ok()) _exit(3);
    for (int i = 0; i < 50; ++i) {
      (*store)->writer().Submit(NewExperiment("c" + std::to_string(i), 2), [&](const Status& s, const WriteBatch&) {
        std::lock_guard<std::mutex> l(mu);
        n += s.ok();
        cv.notify_all();
      });
    }
    std::unique_lock<std::mutex> l(mu);
    cv.wait_for(l, std::chrono::seconds(10), [&] { return n == 50; });
    _exit(n == 50 ? 0 : 4);  // no destructors: like a crash right after the acknowledgements
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  Inline in;
  auto store = Store::Open({db, 1}, in.post(), nullptr);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Snapshot snap = (*store)->TakeSnapshot();
  EXPECT_EQ(snap.experiments.size(), 50u);
  EXPECT_EQ(snap.jobs.size(), 100u);
}

TEST(JobStoreReads, ListJobsPagesAndFilters) {
  TempDir dir;
  Inline in;
  auto store = Store::Open({dir.file("db"), 1}, in.post(), nullptr);
  ASSERT_TRUE(store.ok());
  (*store)->writer().Submit(NewExperiment("e1", 7), [&](const Status&, const WriteBatch&) { in.Mark(); });
  in.Wait(1);
  auto conn = Connection::Open(dir.file("db"), true);
  ASSERT_TRUE(conn.ok());
  JobFilter f;
  f.experiment_id = "e1";
  std::vector<std::string> ids;
  std::string token;
  int pages = 0;
  do {
    auto page = ListJobs(**conn, f, 3, token);
    ASSERT_TRUE(page.ok());
    for (const auto& j : page->jobs) ids.push_back(j.id);
    token = page->next_page_token;
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(ids.size(), 7u);
  EXPECT_EQ(pages, 3);
  f.state = JobState::kReady;
  auto ready = ListJobs(**conn, f, 50, "");
  ASSERT_TRUE(ready.ok());
  ASSERT_EQ(ready->jobs.size(), 1u);
  EXPECT_EQ(ready->jobs[0].id, "e1/j0");
  auto counts = CountJobsByState(**conn, "e1");
  EXPECT_EQ(counts->at("PENDING"), 6);
  auto events = ReadEvents(**conn, "e1", 0, 10);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_TRUE(ReadEvents(**conn, "other", 0, 10)->empty());
}

}  // namespace
}  // namespace fc::coord::store
