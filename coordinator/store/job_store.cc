#include "coordinator/store/job_store.h"

#include "coordinator/tracking/tracking_store.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace fc::coord::store {
namespace {

using nlohmann::json;

std::string LabelsJson(const std::map<std::string, std::string>& labels) { return json(labels).dump(); }
std::map<std::string, std::string> ParseLabels(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  std::map<std::string, std::string> out;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it->is_string()) out[it.key()] = it->get<std::string>();
    }
  }
  return out;
}

const char* kJobColumns =
    "id, experiment_id, name, kind, state, attempt, lease_epoch, max_retries, priority, seq, "
    "params_json, gpus, gpu_memory_mb, labels_json, cache, worker_id, error, permanent, progress, "
    "progress_message, result_json, created_ms, started_ms, finished_ms, not_before_ms, cached";

JobRow ReadJob(const Stmt& s) {
  JobRow j;
  j.id = s.Text(0);
  j.experiment_id = s.Text(1);
  j.name = s.Text(2);
  j.kind = s.Text(3);
  j.state = static_cast<JobState>(s.Int(4));
  j.attempt = static_cast<int32_t>(s.Int(5));
  j.lease_epoch = s.Int(6);
  j.max_retries = static_cast<int32_t>(s.Int(7));
  j.priority = static_cast<int32_t>(s.Int(8));
  j.seq = s.Int(9);
  j.params_json = s.Text(10);
  j.resources.gpus = static_cast<int32_t>(s.Int(11));
  j.resources.gpu_memory_mb = s.Int(12);
  j.resources.labels = ParseLabels(s.Text(13));
  j.cache = s.Int(14) != 0;
  j.worker_id = s.Text(15);
  j.error = s.Text(16);
  j.permanent_failure = s.Int(17) != 0;
  j.progress = s.Double(18);
  j.progress_message = s.Text(19);
  j.result_json = s.Text(20);
  j.created_ms = s.Int(21);
  j.started_ms = s.Int(22);
  j.finished_ms = s.Int(23);
  j.not_before_ms = s.Int(24);
  j.cached = s.Int(25) != 0;
  return j;
}

const char* kExperimentColumns =
    "id, name, idempotency_key, spec_hash, spec_yaml, canonical_json, state, created_ms, finished_ms";

ExperimentRow ReadExperiment(const Stmt& s) {
  ExperimentRow e;
  e.id = s.Text(0);
  e.name = s.Text(1);
  e.idempotency_key = s.Text(2);
  e.spec_hash = s.Text(3);
  e.spec_yaml = s.Text(4);
  e.canonical_json = s.Text(5);
  e.state = static_cast<ExperimentState>(s.Int(6));
  e.created_ms = s.Int(7);
  e.finished_ms = s.Int(8);
  return e;
}

// Fills depends_on (names) and outputs of one job.
Status FillJobDetails(Connection& conn, JobRow* j) {
  {
    FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare("SELECT depends_on FROM deps WHERE job_id=?1 ORDER BY depends_on"));
    s.Bind(1, j->id);
    const size_t prefix = j->experiment_id.size() + 1;
    while (true) {
      FC_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      std::string dep = s.Text(0);
      j->depends_on.push_back(dep.size() > prefix ? dep.substr(prefix) : dep);
    }
  }
  FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare("SELECT name, sha256, size, kind, uri FROM artifacts WHERE job_id=?1 ORDER BY rowid"));
  s.Bind(1, j->id);
  while (true) {
    FC_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    j->outputs.push_back({s.Text(0), s.Text(1), s.Text(3), s.Text(4), s.Int(2)});
  }
  return Status::OK();
}

int ClampPage(int page_size) { return page_size <= 0 ? 50 : std::min(page_size, 1000); }

}  // namespace

Status ApplyBatch(Connection& conn, WriteBatch& b) {
  for (const ExperimentRow& e : b.new_experiments) {
    FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(
        "INSERT INTO experiments (id, name, idempotency_key, spec_hash, spec_yaml, canonical_json, "
        "state, created_ms, finished_ms) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)"));
    s.Bind(1, e.id).Bind(2, e.name).Bind(3, e.idempotency_key).Bind(4, e.spec_hash)
        .Bind(5, e.spec_yaml).Bind(6, e.canonical_json).Bind(7, static_cast<int>(e.state))
        .Bind(8, e.created_ms).Bind(9, e.finished_ms);
    FC_RETURN_IF_ERROR(s.Run());
  }
  for (const JobRow& j : b.new_jobs) {
    FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(
        "INSERT INTO jobs (id, experiment_id, name, kind, state, attempt, lease_epoch, max_retries, "
        "priority, seq, params_json, gpus, gpu_memory_mb, labels_json, cache, created_ms, not_before_ms) "
        "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)"));
    s.Bind(1, j.id).Bind(2, j.experiment_id).Bind(3, j.name).Bind(4, j.kind)
        .Bind(5, static_cast<int>(j.state)).Bind(6, j.attempt).Bind(7, j.lease_epoch)
        .Bind(8, j.max_retries).Bind(9, j.priority).Bind(10, j.seq).Bind(11, j.params_json)
        .Bind(12, j.resources.gpus).Bind(13, j.resources.gpu_memory_mb)
        .Bind(14, LabelsJson(j.resources.labels)).Bind(15, j.cache).Bind(16, j.created_ms)
        .Bind(17, j.not_before_ms);
    FC_RETURN_IF_ERROR(s.Run());
  }
  // Deps after all jobs of the batch exist (foreign keys).
  for (const JobRow& j : b.new_jobs) {
    for (const std::string& dep : j.depends_on) {
      FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare("INSERT INTO deps (job_id, depends_on) VALUES (?1, ?2)"));
      s.Bind(1, j.id).Bind(2, j.experiment_id + "/" + dep);
      FC_RETURN_IF_ERROR(s.Run());
    }
  }
  for (const JobUpdate& u : b.job_updates) {
    const JobRow& j = u.row;
    FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(
        "UPDATE jobs SET state=?1, attempt=?2, lease_epoch=?3, worker_id=?4, error=?5, permanent=?6, "
        "progress=?7, progress_message=?8, result_json=?9, started_ms=?10, finished_ms=?11, "
        "not_before_ms=?12, cached=?16 WHERE id=?13 AND attempt=?14 AND lease_epoch=?15"));
    s.Bind(1, static_cast<int>(j.state)).Bind(2, j.attempt).Bind(3, j.lease_epoch)
        .Bind(4, j.worker_id).Bind(5, j.error).Bind(6, j.permanent_failure).Bind(7, j.progress)
        .Bind(8, j.progress_message).Bind(9, j.result_json).Bind(10, j.started_ms)
        .Bind(11, j.finished_ms).Bind(12, j.not_before_ms).Bind(13, j.id).Bind(16, j.cached)
        .Bind(14, u.expect_attempt).Bind(15, u.expect_epoch);
    FC_RETURN_IF_ERROR(s.Run());
    if (conn.Changes() != 1) {
      // The io thread checked this fence already: a mismatch here is a broken invariant.
      return InternalError("fenced update of job {} matched no row (attempt {}, lease epoch {})",
                           j.id, u.expect_attempt, u.expect_epoch);
    }
    if (u.write_outputs) {
      FC_ASSIGN_OR_RETURN(Stmt del, conn.Prepare("DELETE FROM artifacts WHERE job_id=?1"));
      del.Bind(1, j.id);
      FC_RETURN_IF_ERROR(del.Run());
      for (const Artifact& a : j.outputs) {
        FC_ASSIGN_OR_RETURN(Stmt ins, conn.Prepare(
            "INSERT INTO artifacts (job_id, name, sha256, size, kind, uri, attempt) VALUES (?1,?2,?3,?4,?5,?6,?7) "
            "ON CONFLICT(job_id, name) DO UPDATE SET sha256=excluded.sha256, size=excluded.size, "
            "kind=excluded.kind, uri=excluded.uri, attempt=excluded.attempt"));
        ins.Bind(1, j.id).Bind(2, a.name).Bind(3, a.sha256).Bind(4, a.size).Bind(5, a.kind)
            .Bind(6, a.uri).Bind(7, j.attempt);
        FC_RETURN_IF_ERROR(ins.Run());
      }
    }
  }
  for (const AttemptRow& a : b.attempts) {
    FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(
        "INSERT INTO attempts (job_id, attempt, lease_epoch, worker_id, leased_ms, finished_ms, outcome, error) "
        "VALUES (?1,?2,?3,?4,?5,?6,?7,?8) ON CONFLICT(job_id, lease_epoch) DO UPDATE SET "
        "finished_ms=excluded.finished_ms, outcome=excluded.outcome, error=excluded.error"));
    s.Bind(1, a.job_id).Bind(2, a.attempt).Bind(3, a.lease_epoch).Bind(4, a.worker_id)
        .Bind(5, a.leased_ms).Bind(6, a.finished_ms).Bind(7, a.outcome).Bind(8, a.error);
    FC_RETURN_IF_ERROR(s.Run());
  }
  for (const WorkerRow& w : b.workers) {
    FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(
        "INSERT INTO workers (id, name, device, slots, gpus, gpu_memory_mb, labels_json, kinds_json, "
        "engine_version, draining, cordoned, registered_ms) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12) "
        "ON CONFLICT(id) DO UPDATE SET device=excluded.device, slots=excluded.slots, gpus=excluded.gpus, "
        "gpu_memory_mb=excluded.gpu_memory_mb, labels_json=excluded.labels_json, "
        "kinds_json=excluded.kinds_json, engine_version=excluded.engine_version, "
        "draining=excluded.draining, cordoned=excluded.cordoned, registered_ms=excluded.registered_ms"));
    s.Bind(1, w.id).Bind(2, w.name).Bind(3, w.device).Bind(4, w.slots).Bind(5, w.resources.gpus)
        .Bind(6, w.resources.gpu_memory_mb).Bind(7, LabelsJson(w.resources.labels))
        .Bind(8, json(w.kinds).dump()).Bind(9, w.engine_version).Bind(10, w.draining)
        .Bind(11, w.cordoned).Bind(12, w.registered_ms);
    FC_RETURN_IF_ERROR(s.Run());
  }
  for (const ExperimentStateUpdate& e : b.experiment_states) {
    FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare("UPDATE experiments SET state=?1, finished_ms=?2 WHERE id=?3"));
    s.Bind(1, static_cast<int>(e.state)).Bind(2, e.finished_ms).Bind(3, e.id);
    FC_RETURN_IF_ERROR(s.Run());
  }
  for (EventRow& e : b.events) {
    FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(
        "INSERT INTO events (unix_ms, experiment_id, job_id, type, job_state, message, progress) "
        "VALUES (?1,?2,?3,?4,?5,?6,?7)"));
    s.Bind(1, e.unix_ms).Bind(2, e.experiment_id).Bind(3, e.job_id).Bind(4, e.type)
        .Bind(5, static_cast<int>(e.job_state)).Bind(6, e.message).Bind(7, e.progress);
    FC_RETURN_IF_ERROR(s.Run());
    e.seq = conn.LastInsertRowid();
  }
  FC_RETURN_IF_ERROR(tracking::ApplyTrackingWrites(conn, b.tracking));
  return Status::OK();
}

StatusOr<Snapshot> LoadSnapshot(Connection& conn) {
  Snapshot snap;
  FC_RETURN_IF_ERROR(conn.Exec("BEGIN"));  // one consistent read
  auto body = [&]() -> Status {
    {
      FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(std::string("SELECT ") + kExperimentColumns + " FROM experiments ORDER BY created_ms, id"));
      while (true) {
        FC_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        snap.experiments.push_back(ReadExperiment(s));
      }
    }
    std::map<std::string, size_t> index;
    {
      FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(std::string("SELECT ") + kJobColumns + " FROM jobs ORDER BY seq"));
      while (true) {
        FC_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        index[s.Text(0)] = snap.jobs.size();
        snap.jobs.push_back(ReadJob(s));
        snap.max_job_seq = std::max(snap.max_job_seq, snap.jobs.back().seq);
      }
    }
    {
      FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare("SELECT job_id, depends_on FROM deps ORDER BY job_id, depends_on"));
      while (true) {
        FC_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        auto it = index.find(s.Text(0));
        if (it == index.end()) continue;
        JobRow& j = snap.jobs[it->second];
        std::string dep = s.Text(1);
        j.depends_on.push_back(dep.substr(std::min(dep.size(), j.experiment_id.size() + 1)));
      }
    }
    {
      FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare("SELECT job_id, name, sha256, size, kind, uri FROM artifacts ORDER BY job_id, rowid"));
      while (true) {
        FC_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        auto it = index.find(s.Text(0));
        if (it == index.end()) continue;
        snap.jobs[it->second].outputs.push_back({s.Text(1), s.Text(2), s.Text(4), s.Text(5), s.Int(3)});
      }
    }
    {
      FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(
          "SELECT id, name, device, slots, gpus, gpu_memory_mb, labels_json, kinds_json, engine_version, "
          "draining, cordoned, registered_ms FROM workers ORDER BY id"));
      while (true) {
        FC_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        WorkerRow w;
        w.id = s.Text(0);
        w.name = s.Text(1);
        w.device = s.Text(2);
        w.slots = static_cast<int32_t>(s.Int(3));
        w.resources.gpus = static_cast<int32_t>(s.Int(4));
        w.resources.gpu_memory_mb = s.Int(5);
        w.resources.labels = ParseLabels(s.Text(6));
        json k = json::parse(s.Text(7), nullptr, false);
        if (k.is_array()) {
          for (const json& x : k) {
            if (x.is_string()) w.kinds.push_back(x.get<std::string>());
          }
        }
        w.engine_version = s.Text(8);
        w.draining = s.Int(9) != 0;
        w.cordoned = s.Int(10) != 0;
        w.registered_ms = s.Int(11);
        snap.workers.push_back(std::move(w));
      }
    }
    FC_ASSIGN_OR_RETURN(snap.max_event_seq, MaxEventSeq(conn));
    FC_ASSIGN_OR_RETURN(snap.checkpoints, tracking::LoadCheckpoints(conn));
    FC_ASSIGN_OR_RETURN(snap.cache_entries, tracking::LoadCacheEntries(conn));
    return Status::OK();
  };
  Status s = body();
  (void)conn.Exec("COMMIT");
  if (!s.ok()) return s;
  return snap;
}

StatusOr<JobPage> ListJobs(Connection& conn, const JobFilter& f, int page_size,
                           const std::string& page_token) {
  const int limit = ClampPage(page_size);
  std::string sql = std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id > ?1";
  if (!f.experiment_id.empty()) sql += " AND experiment_id = ?2";
  if (f.state != JobState::kUnspecified) sql += " AND state = ?3";
  if (!f.kind.empty()) sql += " AND kind = ?4";
  if (!f.worker_id.empty()) sql += " AND worker_id = ?5";
  sql += " ORDER BY id LIMIT ?6";
  JobPage page;
  {
    FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(sql));
    s.Bind(1, page_token);
    if (!f.experiment_id.empty()) s.Bind(2, f.experiment_id);
    if (f.state != JobState::kUnspecified) s.Bind(3, static_cast<int>(f.state));
    if (!f.kind.empty()) s.Bind(4, f.kind);
    if (!f.worker_id.empty()) s.Bind(5, f.worker_id);
    s.Bind(6, limit + 1);
    while (true) {
      FC_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      page.jobs.push_back(ReadJob(s));
    }
  }
  if (static_cast<int>(page.jobs.size()) > limit) {
    page.jobs.pop_back();
    page.next_page_token = page.jobs.back().id;
  }
  for (JobRow& j : page.jobs) FC_RETURN_IF_ERROR(FillJobDetails(conn, &j));
  return page;
}

StatusOr<std::optional<JobRow>> GetJob(Connection& conn, const std::string& id) {
  std::optional<JobRow> out;
  {
    FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id=?1"));
    s.Bind(1, id);
    FC_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out = ReadJob(s);
  }
  FC_RETURN_IF_ERROR(FillJobDetails(conn, &*out));
  return out;
}

StatusOr<ExperimentPage> ListExperiments(Connection& conn, const std::string& name_prefix,
                                         ExperimentState state, int page_size,
                                         const std::string& page_token) {
  const int limit = ClampPage(page_size);
  std::string sql = std::string("SELECT ") + kExperimentColumns + " FROM experiments WHERE id > ?1";
  if (!name_prefix.empty()) sql += " AND substr(name, 1, length(?2)) = ?2";
  if (state != ExperimentState::kUnspecified) sql += " AND state = ?3";
  sql += " ORDER BY id LIMIT ?4";
  ExperimentPage page;
  FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(sql));
  s.Bind(1, page_token);
  if (!name_prefix.empty()) s.Bind(2, name_prefix);
  if (state != ExperimentState::kUnspecified) s.Bind(3, static_cast<int>(state));
  s.Bind(4, limit + 1);
  while (true) {
    FC_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    page.experiments.push_back(ReadExperiment(s));
  }
  if (static_cast<int>(page.experiments.size()) > limit) {
    page.experiments.pop_back();
    page.next_page_token = page.experiments.back().id;
  }
  return page;
}

StatusOr<std::optional<ExperimentRow>> GetExperiment(Connection& conn, const std::string& id) {
  FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(std::string("SELECT ") + kExperimentColumns + " FROM experiments WHERE id=?1"));
  s.Bind(1, id);
  FC_ASSIGN_OR_RETURN(bool row, s.Step());
  std::optional<ExperimentRow> out;
  if (row) out = ReadExperiment(s);
  return out;
}

StatusOr<std::optional<ExperimentRow>> FindExperimentByKey(Connection& conn, const std::string& key) {
  FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(std::string("SELECT ") + kExperimentColumns + " FROM experiments WHERE idempotency_key=?1"));
  s.Bind(1, key);
  FC_ASSIGN_OR_RETURN(bool row, s.Step());
  std::optional<ExperimentRow> out;
  if (row) out = ReadExperiment(s);
  return out;
}

StatusOr<std::map<std::string, int32_t>> CountJobsByState(Connection& conn,
                                                          const std::string& experiment_id) {
  FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare("SELECT state, count(*) FROM jobs WHERE experiment_id=?1 GROUP BY state"));
  s.Bind(1, experiment_id);
  std::map<std::string, int32_t> out;
  while (true) {
    FC_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out[JobStateName(static_cast<JobState>(s.Int(0)))] = static_cast<int32_t>(s.Int(1));
  }
  return out;
}

StatusOr<std::vector<EventRow>> ReadEvents(Connection& conn, const std::string& experiment_id,
                                           int64_t after_seq, int limit) {
  std::string sql =
      "SELECT seq, unix_ms, experiment_id, job_id, type, job_state, message, progress FROM events "
      "WHERE seq > ?1";
  if (!experiment_id.empty()) sql += " AND experiment_id = ?2";
  sql += " ORDER BY seq LIMIT ?3";
  FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(sql));
  s.Bind(1, after_seq);
  if (!experiment_id.empty()) s.Bind(2, experiment_id);
  s.Bind(3, std::max(1, limit));
  std::vector<EventRow> out;
  while (true) {
    FC_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    EventRow e;
    e.seq = s.Int(0);
    e.unix_ms = s.Int(1);
    e.experiment_id = s.Text(2);
    e.job_id = s.Text(3);
    e.type = s.Text(4);
    e.job_state = static_cast<JobState>(s.Int(5));
    e.message = s.Text(6);
    e.progress = s.Double(7);
    out.push_back(std::move(e));
  }
  return out;
}

StatusOr<int64_t> MaxEventSeq(Connection& conn) {
  FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare("SELECT coalesce(max(seq), 0) FROM events"));
  FC_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.Int(0) : 0;
}

}  // namespace fc::coord::store
