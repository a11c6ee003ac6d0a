// Stage-wise tracking inside the scheduler (docs/tracking.md): checkpoint reports, the
// re-extraction fan-out (a `reextract` job runs in the coordinator: one child discover job per
// checkpoint of its finetune job, created in the same batch that records the checkpoint, so a
// restart finds both or neither), resume of a finetune job from its latest checkpoint, and the
// circuit summaries of finished discover jobs. Same single-thread rules as scheduler.cc.
#include <algorithm>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/circuit/tracking.h"
#include "common/dag/sha256.h"
#include "coordinator/scheduler/scheduler.h"
#include "coordinator/tracking/fanout.h"
#include "worker/transfer/artifact_uri.h"

namespace fc::coord {

using nlohmann::json;

namespace {
constexpr char kCoordinatorWorker[] = "coordinator";

bool IncludeBase(const JobRow& r) {
  json p = json::parse(r.params_json, nullptr, false);
  return !p.is_object() || !p.contains("include_base") || p.at("include_base") != false;
}
}  // namespace

bool Scheduler::IsReextract(const Job& j) { return j.row.kind == tracking::kReextractKind; }

Scheduler::Job* Scheduler::SiblingByRef(const Job& j, const std::string& param) const {
  json p = json::parse(j.row.params_json, nullptr, false);
  if (!p.is_object() || !p.contains(param)) return nullptr;
  const std::string name = tracking::RefJob(p.at(param));
  if (name.empty()) return nullptr;
  auto it = jobs_.find(j.row.experiment_id + "/" + name);
  return it == jobs_.end() ? nullptr : it->second.get();
}

void Scheduler::OnReextractDepSucceeded(Job& r, store::WriteBatch& b) {
  Job* ft = SiblingByRef(r, "finetune");
  if (r.row.state == JobState::kPending) {
    // Everything but the finetune job must have succeeded; the finetune job only has to exist
    // (its checkpoints arrive while it trains).
    for (Job* d : r.deps) {
      if (d != ft && d->row.state != JobState::kSucceeded) return;
    }
    if (!ft || ft->row.state == JobState::kFailed || ft->row.state == JobState::kCancelled) return;
    StartReextract(r, b);
  } else if (r.row.state == JobState::kRunning && ft && ft->row.state == JobState::kSucceeded) {
    CreateChildrenFromOutputs(r, *ft, b);
    MaybeFinishReextract(r, b);
  }
}

void Scheduler::StartReextract(Job& r, store::WriteBatch& b) {
  Job* ft = SiblingByRef(r, "finetune");
  Job* like = SiblingByRef(r, "like");
  if (!ft || !like) {
    FailReextract(r, "params 'finetune' and 'like' must name jobs of the experiment", b);
    return;
  }
  const int32_t a = r.row.attempt;
  const int64_t e = r.row.lease_epoch;
  Transition(r, JobEvent::kDepsSucceeded, b, "dependencies ready");
  r.row.lease_epoch++;
  r.row.worker_id = kCoordinatorWorker;
  Transition(r, JobEvent::kLease, b, "run by the coordinator (fan-out)");
  r.row.started_ms = clock_->WallMs();
  Transition(r, JobEvent::kStart, b, fmt::format("fanning out over the checkpoints of {}", ft->row.name));
  EmitJobUpdate(r, a, e, b);
  const bool include_base = IncludeBase(r.row);
  const auto& known = checkpoints_[ft->row.id];
  if (include_base && !known.count(0)) CreateChild(r, 0, "", b);
  for (const auto& [step, c] : known) {
    if (step == 0 && !include_base) continue;
    CreateChild(r, step, c.path, b);
  }
  if (ft->row.state == JobState::kSucceeded) CreateChildrenFromOutputs(r, *ft, b);
  MaybeFinishReextract(r, b);
}

void Scheduler::CreateChild(Job& r, int64_t step, const std::string& checkpoint_path, store::WriteBatch& b) {
  const std::string exp = r.row.experiment_id;
  const std::string id = exp + "/" + tracking::ChildName(r.row.name, step);
  if (jobs_.count(id) || r.row.state != JobState::kRunning) return;
  Job* like = SiblingByRef(r, "like");
  Job* ft = SiblingByRef(r, "finetune");
  if (!like || !ft) return;
  auto spec = tracking::BuildChild(r.row, like->row, ft->row, step, checkpoint_path,
                                   [&](const std::string& n) { return jobs_.count(exp + "/" + n) > 0; });
  if (!spec.ok()) {
    spdlog::error("job={} fan-out step {}: {}", r.row.id, step, spec.status().ToString());
    return;
  }
  auto j = std::make_unique<Job>();
  JobRow& row = j->row;
  row.id = id;
  row.experiment_id = exp;
  row.name = spec->name;
  row.kind = like->row.kind;
  row.attempt = 1;
  row.max_retries = like->row.max_retries;
  row.priority = r.row.priority;
  row.seq = next_job_seq_++;
  row.params_json = spec->params.dump();
  row.depends_on = spec->depends_on;
  row.resources = like->row.resources;
  row.cache = like->row.cache;
  row.created_ms = clock_->WallMs();
  for (const std::string& dep : row.depends_on) {
    Job* d = jobs_.at(exp + "/" + dep).get();
    j->deps.push_back(d);
    d->dependents.push_back(j.get());
    if (d->row.state != JobState::kSucceeded) j->unfinished_deps++;
  }
  row.state = j->unfinished_deps == 0 ? JobState::kReady : JobState::kPending;
  j->exp = r.exp;
  if (j->exp) {
    j->exp->counts[static_cast<int>(row.state)]++;
    j->exp->jobs.push_back(j.get());
  }
  global_counts_[static_cast<int>(row.state)]++;
  j->fanout_parent = &r;
  r.children.push_back(j.get());
  b.new_jobs.push_back(row);
  AddEvent(b, exp, id, "job_state", row.state,
           fmt::format("fanned out by {} for checkpoint step {}", r.row.name, step));
  spdlog::info("job={} fan-out child={} step={}", r.row.id, id, step);
  Job* jp = j.get();
  jobs_[id] = std::move(j);
  if (jp->row.state == JobState::kReady) MakeReady(*jp, 0);
}

void Scheduler::CreateChildrenFromOutputs(Job& r, const Job& ft, store::WriteBatch& b) {
  const bool include_base = IncludeBase(r.row);
  for (const Artifact& a : ft.row.outputs) {
    if (a.name.rfind("checkpoint-", 0) != 0) continue;
    std::optional<int64_t> step = circuit::CheckpointStep(a.name);
    if (!step || (*step == 0 && !include_base)) continue;
    CreateChild(r, *step, a.uri, b);
  }
}

void Scheduler::MaybeFinishReextract(Job& r, store::WriteBatch& b) {
  if (r.row.state != JobState::kRunning) return;
  Job* ft = SiblingByRef(r, "finetune");
  if (!ft || ft->row.state != JobState::kSucceeded) return;
  std::vector<std::pair<int64_t, Job*>> kids;
  for (Job* c : r.children) {
    if (c->row.state != JobState::kSucceeded) return;
    kids.emplace_back(tracking::ChildStep(r.row.name, c->row.name).value_or(0), c);
  }
  if (kids.empty()) {
    FailReextract(r, fmt::format("finetune job {} reported no checkpoints", ft->row.name), b);
    return;
  }
  std::sort(kids.begin(), kids.end());
  std::vector<Artifact> outputs;
  json per_step = json::array();
  for (const auto& [step, c] : kids) {
    if (c->row.outputs.empty()) continue;
    Artifact a = c->row.outputs.front();
    a.name = "circuit-" + std::to_string(step);
    outputs.push_back(a);
    json res = json::parse(c->row.result_json.empty() ? "{}" : c->row.result_json, nullptr, false);
    if (!res.is_object()) res = json::object();
    res["step"] = step;
    res["job"] = c->row.name;
    per_step.push_back(std::move(res));
  }
  if (!kids.back().second->row.outputs.empty()) {
    Artifact last = kids.back().second->row.outputs.front();
    last.name = "last";
    outputs.insert(outputs.begin(), last);  // the default output: the last checkpoint's circuit
  }
  const int32_t a = r.row.attempt;
  const int64_t e = r.row.lease_epoch;
  const int64_t wall = clock_->WallMs();
  ReleaseHold(r);
  r.row.outputs = std::move(outputs);
  r.row.result_json = json{{"finetune", ft->row.name}, {"checkpoints", per_step}}.dump();
  r.row.progress = 1.0;
  r.row.finished_ms = wall;
  r.row.error.clear();
  Transition(r, JobEvent::kComplete, b, fmt::format("succeeded ({} checkpoints)", kids.size()));
  EmitJobUpdate(r, a, e, b, /*outputs=*/true);
  b.attempts.push_back({r.row.id, r.row.attempt, r.row.lease_epoch, kCoordinatorWorker, r.row.started_ms, wall,
                        "succeeded", ""});
  OnSucceeded(r, b);
}

void Scheduler::FailReextract(Job& r, const std::string& why, store::WriteBatch& b) {
  if (IsTerminal(r.row.state)) return;
  const int32_t a = r.row.attempt;
  const int64_t e = r.row.lease_epoch;
  const bool held = r.row.state == JobState::kLeased || r.row.state == JobState::kRunning;
  RemoveFromQueues(r);
  ReleaseHold(r);
  r.row.error = why;
  r.row.permanent_failure = true;
  r.row.finished_ms = clock_->WallMs();
  Transition(r, held ? JobEvent::kFailFinal : JobEvent::kDepFailed, b, why);
  EmitJobUpdate(r, a, e, b);
  spdlog::warn("job={} re-extraction failed: {}", r.row.id, why);
  for (Job* c : r.children) {
    if (IsTerminal(c->row.state)) continue;
    const int32_t ca = c->row.attempt;
    const int64_t ce = c->row.lease_epoch;
    const bool c_held = c->row.state == JobState::kLeased || c->row.state == JobState::kRunning;
    RemoveFromQueues(*c);
    if (c_held) {
      ReleaseHold(*c);
      c->cancel_notify = true;
    }
    c->row.error = "cancelled: " + r.row.name + " failed";
    c->row.finished_ms = clock_->WallMs();
    Transition(*c, JobEvent::kCancel, b, c->row.error);
    EmitJobUpdate(*c, ca, ce, b);
  }
  CancelDownstream(r, b);
}

void Scheduler::OnCheckpoint(Job& ft, tracking::CheckpointRow c, store::WriteBatch& b) {
  auto& known = checkpoints_[ft.row.id];
  auto prev = known.find(c.step);
  if (prev != known.end() && prev->second.name == c.name && prev->second.attempt < c.attempt) {
    // A resumed attempt re-announces the checkpoints it linked in from the attempt it resumes
    // (worker/jobs/finetune_executor.cc SeedFromCheckpoint): the row keeps the attempt that
    // made it and when that was reported, for lineage. The path is the newer report's unless
    // the older one is a blob uri (it resolves anywhere, the same content), as a local path of
    // the dead attempt may be on a host that is gone (resume_checkpoints read these paths).
    // Fan-out children already created for the step stay as they are (CreateChild skips them).
    c.attempt = prev->second.attempt;
    c.reported_ms = prev->second.reported_ms;
    if (transfer::IsBlobUri(prev->second.path)) c.path = prev->second.path;
  }
  known[c.step] = c;
  const int64_t step = c.step;
  const std::string path = c.path;
  b.tracking.checkpoints.push_back(std::move(c));
  for (Job* d : ft.dependents) {
    if (!IsReextract(*d) || d->row.state != JobState::kRunning || SiblingByRef(*d, "finetune") != &ft) continue;
    if (step == 0 && !IncludeBase(d->row)) continue;
    CreateChild(*d, step, path, b);
  }
}

void Scheduler::OnJobDone(Job& j, store::WriteBatch& b) {
  int64_t step = -1;
  std::string checkpoint;
  if (j.fanout_parent) {
    step = tracking::ChildStep(j.fanout_parent->row.name, j.row.name).value_or(-1);
    Job* ft = SiblingByRef(*j.fanout_parent, "finetune");
    if (ft && step >= 0) {
      auto it = checkpoints_.find(ft->row.id);
      if (it != checkpoints_.end() && it->second.count(step)) checkpoint = ft->row.id + "/" + it->second.at(step).name;
    }
  }
  if (j.row.kind == tracking::kDiscoverKind && j.row.state == JobState::kSucceeded) {
    b.tracking.circuits.push_back(tracking::CircuitFromResult(j.row, step, checkpoint, clock_->WallMs()));
  }
  if (!j.fanout_parent) return;
  Job& r = *j.fanout_parent;
  if (j.row.state == JobState::kSucceeded) {
    MaybeFinishReextract(r, b);
  } else if (j.row.state == JobState::kFailed || j.row.state == JobState::kCancelled) {
    FailReextract(r, fmt::format("re-extraction job {} {}: {}", j.row.name, JobStateName(j.row.state), j.row.error), b);
  }
}

void Scheduler::RecoverTracking(const std::vector<tracking::CheckpointRow>& checkpoints,
                                const std::vector<tracking::CacheEntryRow>& cache_entries) {
  for (const tracking::CheckpointRow& c : checkpoints) checkpoints_[c.job_id][c.step] = c;
  for (const tracking::CacheEntryRow& c : cache_entries) cache_[c.key] = c;
  for (auto& [id, jp] : jobs_) {
    if (!IsReextract(*jp) || !jp->exp) continue;
    for (Job* c : jp->exp->jobs) {
      if (c != jp.get() && tracking::ChildStep(jp->row.name, c->row.name)) {
        c->fanout_parent = jp.get();
        jp->children.push_back(c);
      }
    }
  }
}

void Scheduler::PrepareLease(const Job& j, Lease* l) const {
  if (j.row.kind == tracking::kFinetuneKind) {
    auto it = checkpoints_.find(j.row.id);
    if (it != checkpoints_.end() && !it->second.empty()) {
      const tracking::CheckpointRow& last = it->second.rbegin()->second;
      if (last.attempt < j.row.attempt) {
        json p = json::parse(l->job.params_json, nullptr, false);
        if (p.is_object()) {
          p["resume_from"] = last.path;
          // Every earlier checkpoint too: with blob uris (checkpoints uploaded by the agent) the
          // new host has none of the old attempt's folders, and the worker links these next to
          // resume_from so the resumed run's checkpoint-<step> outputs are complete.
          json earlier = json::object();
          for (const auto& [step, c] : it->second) earlier[std::to_string(step)] = c.path;
          p["resume_checkpoints"] = std::move(earlier);
          l->job.params_json = p.dump();
          spdlog::info("job={} attempt={} resumes from {} (step {}, {} checkpoint(s))", j.row.id, j.row.attempt,
                       last.path, last.step, it->second.size());
        }
      }
    }
  }
  if (j.fanout_parent) {
    // Once the finetune job has finished, its checkpoints are outputs (blob uris when uploaded):
    // hand the child that output as an input so the worker materialises it.
    Job* ft = SiblingByRef(*j.fanout_parent, "finetune");
    auto step = tracking::ChildStep(j.fanout_parent->row.name, j.row.name);
    json p = json::parse(l->job.params_json, nullptr, false);
    if (ft && step && ft->row.state == JobState::kSucceeded && p.is_object() && p.contains("checkpoint")) {
      for (const Artifact& a : ft->row.outputs) {
        if (a.name != tracking::CheckpointName(*step)) continue;
        p["checkpoint"] = ft->row.name;
        l->job.params_json = p.dump();
        l->inputs[ft->row.name] = {{a}, ft->row.result_json};
        break;
      }
    }
  }
}

// ------------------------------------------------------------------------------------------
// Caching

std::string Scheduler::CacheKey(const Job& j) const {
  // params_json is a dump of nlohmann's std::map-backed object: keys sorted, canonical.
  std::string text = j.row.kind + "\n" + j.row.params_json + "\n";
  std::vector<const Job*> deps(j.deps.begin(), j.deps.end());
  std::sort(deps.begin(), deps.end(), [](const Job* a, const Job* b) { return a->row.name < b->row.name; });
  for (const Job* d : deps) {
    text += d->row.name + ":";
    for (const Artifact& a : d->row.outputs) {
      text += a.name + "=" + (a.sha256.empty() ? a.uri : a.sha256) + ",";
    }
    text += "\n";
  }
  return dag::Sha256Hex(text);
}

void Scheduler::RecordCache(const Job& j, store::WriteBatch& b) {
  if (!j.row.cache || IsReextract(j) || j.row.cached) return;
  tracking::CacheEntryRow c;
  c.key = CacheKey(j);
  c.job_id = j.row.id;
  auto w = workers_.find(j.row.worker_id);
  c.engine_version = w != workers_.end() ? w->second->row.engine_version : "";
  c.created_ms = clock_->WallMs();
  cache_[c.key] = c;
  b.tracking.cache_entries.push_back(std::move(c));
}

bool Scheduler::TryCacheHit(Job& j, store::WriteBatch& b) {
  if (!j.row.cache || IsReextract(j) || j.row.state != JobState::kReady) return false;
  auto it = cache_.find(CacheKey(j));
  if (it == cache_.end() || it->second.job_id == j.row.id) return false;
  auto src = jobs_.find(it->second.job_id);
  if (src == jobs_.end() || src->second->row.state != JobState::kSucceeded) return false;
  // The engine must be the one that would run the job now: some registered worker that takes
  // this kind advertises the producing engine version.
  bool engine_ok = false;
  for (const auto& [id, w] : workers_) {
    const auto& kinds = w->row.kinds;
    bool takes = kinds.empty() || std::find(kinds.begin(), kinds.end(), j.row.kind) != kinds.end();
    if (takes && w->row.engine_version == it->second.engine_version) engine_ok = true;
  }
  if (!engine_ok) return false;
  const JobRow& from = src->second->row;
  // Outputs whose blob was quarantined or removed since can never be read again: reusing them
  // would fail every consumer for good, so the job runs instead (and its success replaces the
  // cache entry). One stat per blob, on this thread (stored_outputs.h says why that is fine).
  const std::string missing = stored_outputs_.Missing(from.outputs);
  if (!missing.empty()) {
    spdlog::warn("job={} cache miss: outputs of {} are gone: {}", j.row.id, from.id, missing);
    AddEvent(b, j.row.experiment_id, j.row.id, "cache_miss", j.row.state,
             "not cached from " + from.id + ": " + missing);
    return false;
  }
  const int32_t a = j.row.attempt;
  const int64_t e = j.row.lease_epoch;
  const int64_t wall = clock_->WallMs();
  RemoveFromQueues(j);
  j.row.lease_epoch++;
  j.row.worker_id.clear();
  Transition(j, JobEvent::kLease, b, "cache hit");
  j.row.cached = true;
  j.row.outputs = from.outputs;
  j.row.result_json = from.result_json;
  j.row.progress = 1.0;
  j.row.progress_message = "cached: outputs of " + from.id;
  j.row.started_ms = wall;
  j.row.finished_ms = wall;
  Transition(j, JobEvent::kComplete, b, "succeeded (cached from " + from.id + ")");
  EmitJobUpdate(j, a, e, b, /*outputs=*/true);
  spdlog::info("job={} cached from {}", j.row.id, from.id);
  OnSucceeded(j, b);
  return true;
}

}  // namespace fc::coord
