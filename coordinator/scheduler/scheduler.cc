#include "coordinator/scheduler/scheduler.h"

#include <algorithm>
#include <chrono>
#include <climits>

#include <spdlog/spdlog.h>

#include "common/dag/sha256.h"
#include "coordinator/tracking/fanout.h"

namespace fc::coord {
namespace {

constexpr size_t kMaxDispatchSamples = 2'000'000;

}  // namespace

Scheduler::Scheduler(SchedulerConfig config, Clock* clock, Commit commit, metrics::Registry* m)
    : config_(config), clock_(clock), commit_(std::move(commit)) {
  if (m) {
    for (int s = 1; s < kNumJobStates; ++s) {
      state_gauges_[s] = m->GetGauge("fc_scheduler_jobs", "Jobs by state",
                                     {{"state", JobStateName(static_cast<JobState>(s))}});
    }
    queue_depth_ = m->GetGauge("fc_scheduler_queue_depth", "READY jobs dispatchable now");
    delayed_depth_ = m->GetGauge("fc_scheduler_backoff_jobs", "READY jobs waiting out a retry backoff");
    workers_alive_ = m->GetGauge("fc_scheduler_workers_alive", "Workers heard from within one lease TTL");
    lease_expiries_total_ = m->GetCounter("fc_lease_expiries_total", "Leases that expired without a heartbeat");
    stale_reports_total_ = m->GetCounter("fc_stale_reports_total", "Worker reports rejected by fencing");
    dispatch_seconds_ = m->GetHistogram("fc_dispatch_latency_seconds", "READY -> lease committed",
                                        metrics::ExponentialBuckets(0.0001, 2, 18));
  }
}

int64_t Scheduler::NowUs() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Scheduler::PublishGauges() {
  if (!queue_depth_) return;
  for (int s = 1; s < kNumJobStates; ++s) state_gauges_[s]->Set(static_cast<double>(global_counts_[s]));
  queue_depth_->Set(static_cast<double>(ready_.size()));
  delayed_depth_->Set(static_cast<double>(delayed_.size()));
  int alive = 0;
  const int64_t now = clock_->MonoMs();
  for (const auto& [id, w] : workers_) alive += (now - w->last_seen_mono) < config_.lease_ttl_ms;
  workers_alive_->Set(alive);
}

// ------------------------------------------------------------------------------------------
// Recovery

void Scheduler::Recover(store::Snapshot snap) {
  const int64_t now = clock_->MonoMs();
  const int64_t wall = clock_->WallMs();
  for (ExperimentRow& e : snap.experiments) {
    auto exp = std::make_unique<Experiment>();
    exp->row = std::move(e);
    by_key_[exp->row.idempotency_key] = exp.get();
    std::string id = exp->row.id;
    experiments_[id] = std::move(exp);
  }
  for (JobRow& r : snap.jobs) {
    auto j = std::make_unique<Job>();
    j->row = std::move(r);
    auto eit = experiments_.find(j->row.experiment_id);
    if (eit != experiments_.end()) {
      j->exp = eit->second.get();
      j->exp->jobs.push_back(j.get());
      j->exp->counts[static_cast<int>(j->row.state)]++;
    }
    global_counts_[static_cast<int>(j->row.state)]++;
    std::string id = j->row.id;
    jobs_[id] = std::move(j);
  }
  next_job_seq_ = snap.max_job_seq + 1;
  for (auto& [id, j] : jobs_) {
    for (const std::string& dep : j->row.depends_on) {
      auto it = jobs_.find(j->row.experiment_id + "/" + dep);
      if (it == jobs_.end()) continue;
      j->deps.push_back(it->second.get());
      it->second->dependents.push_back(j.get());
      if (it->second->row.state != JobState::kSucceeded) j->unfinished_deps++;
    }
  }
  RecoverTracking(snap.checkpoints, snap.cache_entries);
  for (WorkerRow& w : snap.workers) {
    auto worker = std::make_unique<Worker>();
    worker->row = std::move(w);
    worker->last_seen_mono = now;  // alive for one TTL: time to re-register or heartbeat
    std::string id = worker->row.id;
    workers_[id] = std::move(worker);
  }
  for (auto& [id, jp] : jobs_) {
    Job& j = *jp;
    if (j.row.state == JobState::kReady) {
      MakeReady(j, std::max<int64_t>(0, j.row.not_before_ms - wall));
    } else if ((j.row.state == JobState::kLeased || j.row.state == JobState::kRunning) && !IsReextract(j)) {
      j.lease_deadline = now + config_.lease_ttl_ms;  // fresh TTL for every recovered lease
      leases_.insert({j.lease_deadline, &j});
      auto w = workers_.find(j.row.worker_id);
      if (w != workers_.end()) {
        w->second->held.insert(j.row.id);
        w->second->used_gpus += j.row.resources.gpus;
      }
    }
  }
  PublishGauges();
  spdlog::info("scheduler recovered experiments={} jobs={} workers={} leases={} ready={}",
               experiments_.size(), jobs_.size(), workers_.size(), leases_.size(), ready_.size());
}

// ------------------------------------------------------------------------------------------
// Building blocks

void Scheduler::AddEvent(store::WriteBatch& b, const std::string& exp, const std::string& job,
                         const std::string& type, JobState st, const std::string& msg, double progress) {
  EventRow e;
  e.unix_ms = clock_->WallMs();
  e.experiment_id = exp;
  e.job_id = job;
  e.type = type;
  e.job_state = st;
  e.message = msg;
  e.progress = progress;
  b.events.push_back(std::move(e));
}

void Scheduler::EmitJobUpdate(Job& j, int32_t expect_attempt, int64_t expect_epoch,
                              store::WriteBatch& b, bool outputs) {
  // Several transitions of one job in one batch collapse into its last row; the fence to
  // expect is the first one's (what the database holds before the batch).
  for (store::JobUpdate& u : b.job_updates) {
    if (u.row.id == j.row.id) {
      u.row = j.row;
      u.write_outputs = u.write_outputs || outputs;
      return;
    }
  }
  store::JobUpdate u;
  u.row = j.row;
  u.expect_attempt = expect_attempt;
  u.expect_epoch = expect_epoch;
  u.write_outputs = outputs;
  b.job_updates.push_back(std::move(u));
}

void Scheduler::Transition(Job& j, JobEvent ev, store::WriteBatch& b, const std::string& message) {
  StatusOr<JobState> next = NextState(j.row.state, ev);
  if (!next.ok()) {
    // Callers check legality first; reaching this is a bug, never a client error.
    spdlog::error("job={} {}", j.row.id, next.status().ToString());
    return;
  }
  const JobState from = j.row.state;
  const JobState to = *next;
  if (from != to) {
    global_counts_[static_cast<int>(from)]--;
    global_counts_[static_cast<int>(to)]++;
    if (j.exp) {
      j.exp->counts[static_cast<int>(from)]--;
      j.exp->counts[static_cast<int>(to)]++;
    }
  }
  j.row.state = to;
  AddEvent(b, j.row.experiment_id, j.row.id, "job_state", to,
           message.empty() ? JobEventName(ev) : message, j.row.progress);
  if (j.exp && (IsTerminal(from) != IsTerminal(to))) UpdateExperimentState(*j.exp, b);
}

void Scheduler::UpdateExperimentState(Experiment& e, store::WriteBatch& b) {
  using S = JobState;
  ExperimentState st = ExperimentState::kRunning;
  int open = e.counts[int(S::kPending)] + e.counts[int(S::kReady)] + e.counts[int(S::kLeased)] +
             e.counts[int(S::kRunning)];
  if (open == 0) {
    if (e.counts[int(S::kFailed)] > 0) {
      st = ExperimentState::kFailed;
    } else if (e.counts[int(S::kCancelled)] > 0) {
      st = ExperimentState::kCancelled;
    } else {
      st = ExperimentState::kSucceeded;
    }
  }
  if (st == e.row.state) return;
  e.row.state = st;
  e.row.finished_ms = st == ExperimentState::kRunning ? 0 : clock_->WallMs();
  for (auto& u : b.experiment_states) {
    if (u.id == e.row.id) {
      u.state = st;
      u.finished_ms = e.row.finished_ms;
      AddEvent(b, e.row.id, "", "experiment_state", S::kUnspecified, ExperimentStateName(st));
      return;
    }
  }
  b.experiment_states.push_back({e.row.id, st, e.row.finished_ms});
  AddEvent(b, e.row.id, "", "experiment_state", S::kUnspecified, ExperimentStateName(st));
  spdlog::info("experiment={} state={}", e.row.id, ExperimentStateName(st));
}

void Scheduler::MakeReady(Job& j, int64_t delay_ms) {
  j.ready_at_us = NowUs() + delay_ms * 1000;
  if (delay_ms > 0) {
    j.due_mono_ms = clock_->MonoMs() + delay_ms;
    delayed_.insert({j.due_mono_ms, &j});
  } else {
    j.due_mono_ms = 0;
    ready_.insert({-j.row.priority, j.row.seq, &j});
  }
}

void Scheduler::RemoveFromQueues(Job& j) {
  ready_.erase({-j.row.priority, j.row.seq, &j});
  if (j.due_mono_ms) delayed_.erase({j.due_mono_ms, &j});
  j.due_mono_ms = 0;
  if (j.lease_deadline) leases_.erase({j.lease_deadline, &j});
  j.lease_deadline = 0;
}

void Scheduler::ReleaseHold(Job& j) {
  if (j.lease_deadline) leases_.erase({j.lease_deadline, &j});
  j.lease_deadline = 0;
  auto w = workers_.find(j.row.worker_id);
  if (w != workers_.end() && w->second->held.erase(j.row.id)) {
    w->second->used_gpus -= j.row.resources.gpus;
  }
}

void Scheduler::OnSucceeded(Job& j, store::WriteBatch& b) {
  OnJobDone(j, b);
  for (Job* d : j.dependents) {
    --d->unfinished_deps;
    if (IsReextract(*d)) {  // runs in the coordinator, before its finetune job ends
      OnReextractDepSucceeded(*d, b);
      continue;
    }
    if (d->unfinished_deps == 0 && d->row.state == JobState::kPending) {
      int32_t a = d->row.attempt;
      int64_t e = d->row.lease_epoch;
      Transition(*d, JobEvent::kDepsSucceeded, b, "dependencies succeeded");
      EmitJobUpdate(*d, a, e, b);
      if (!TryCacheHit(*d, b)) MakeReady(*d, 0);
    }
  }
}

void Scheduler::CancelDownstream(Job& root, store::WriteBatch& b) {
  std::deque<Job*> todo(root.dependents.begin(), root.dependents.end());
  const std::string why = fmt::format("dependency '{}' {}", root.row.name,
                                      root.row.state == JobState::kFailed ? "failed" : "was cancelled");
  while (!todo.empty()) {
    Job* d = todo.front();
    todo.pop_front();
    if (IsReextract(*d) && d->row.state == JobState::kRunning) {
      FailReextract(*d, why, b);
      continue;
    }
    if (d->row.state != JobState::kPending) continue;
    int32_t a = d->row.attempt;
    int64_t e = d->row.lease_epoch;
    d->row.error = why;
    d->row.finished_ms = clock_->WallMs();
    Transition(*d, JobEvent::kDepFailed, b, why);
    EmitJobUpdate(*d, a, e, b);
    for (Job* dd : d->dependents) todo.push_back(dd);
  }
}

void Scheduler::CommitAndReply(store::WriteBatch b, std::function<void(const Status&)> then) {
  PublishGauges();
  if (!failed_.ok()) {
    then(UnavailableError("store failed: {}", failed_.message()));
    return;
  }
  commit_(std::move(b), [this, then = std::move(then)](const Status& s, const store::WriteBatch& done) {
    if (!s.ok()) {
      if (failed_.ok()) {
        failed_ = s;
        spdlog::error("store failed, coordinator must restart: {}", s.ToString());
      }
      then(UnavailableError("store failed: {}", s.message()));
      return;
    }
    if (event_sink_ && !done.events.empty()) event_sink_(done.events);
    if (circuit_sink_ && !done.tracking.circuits.empty()) {
      std::vector<std::string> ids;
      for (const tracking::CircuitRow& c : done.tracking.circuits) ids.push_back(c.id);
      circuit_sink_(ids);
    }
    then(Status::OK());
  });
}

Scheduler::Worker* Scheduler::FindWorker(const std::string& id_or_name) {
  auto it = workers_.find(id_or_name);
  if (it != workers_.end()) return it->second.get();
  for (auto& [id, w] : workers_) {
    if (w->row.name == id_or_name) return w.get();
  }
  return nullptr;
}

ExperimentView Scheduler::ViewOf(const Experiment& e) const {
  ExperimentView v;
  v.row = e.row;
  for (int s = 1; s < kNumJobStates; ++s) {
    if (e.counts[s]) v.jobs_by_state[JobStateName(static_cast<JobState>(s))] = e.counts[s];
  }
  return v;
}

WorkerView Scheduler::ViewOf(const Worker& w) const {
  WorkerView v;
  v.row = w.row;
  const int64_t now = clock_->MonoMs();
  v.alive = (now - w.last_seen_mono) < config_.lease_ttl_ms;
  v.last_heartbeat_unix_ms = clock_->WallMs() - (now - w.last_seen_mono);
  v.job_ids.assign(w.held.begin(), w.held.end());
  return v;
}

const JobRow* Scheduler::FindJob(const std::string& id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second->row;
}

std::map<std::string, int64_t> Scheduler::JobCountsByState() const {
  std::map<std::string, int64_t> out;
  for (int s = 1; s < kNumJobStates; ++s) out[JobStateName(static_cast<JobState>(s))] = global_counts_[s];
  return out;
}

// ------------------------------------------------------------------------------------------
// Clients

void Scheduler::Submit(SubmitRequest req, Reply<SubmitResult> reply) {
  std::string canonical = dag::CanonicalJsonString(req.spec);
  const std::string hash = dag::Sha256Hex(canonical);  // == dag::SpecHash, computed once
  const std::string key = req.idempotency_key.empty() ? hash : req.idempotency_key;
  auto known = by_key_.find(key);
  if (known != by_key_.end()) {
    Experiment* e = known->second;
    if (e->row.spec_hash != hash) {
      reply(AlreadyExistsError(
          "idempotency key '{}' was used by experiment {} with a different spec", key, e->row.id));
      return;
    }
    // Answer through the writer so the reply cannot overtake the first submission's commit.
    CommitAndReply(store::WriteBatch{}, [this, e, reply](const Status& s) {
      if (!s.ok()) return reply(s);
      reply(SubmitResult{ViewOf(*e), true});
    });
    return;
  }
  auto exp = std::make_unique<Experiment>();
  Experiment& e = *exp;
  std::string id = fmt::format("{}-{}", req.spec.name, dag::Sha256Hex(key).substr(0, 10));
  for (int n = 2; experiments_.count(id); ++n) id = fmt::format("{}-{}-{}", req.spec.name, dag::Sha256Hex(key).substr(0, 10), n);
  const int64_t wall = clock_->WallMs();
  e.row.id = id;
  e.row.name = req.spec.name;
  e.row.idempotency_key = key;
  e.row.spec_hash = hash;
  e.row.spec_yaml = std::move(req.spec_text);
  e.row.canonical_json = std::move(canonical);
  e.row.state = ExperimentState::kRunning;
  e.row.created_ms = wall;

  store::WriteBatch b;
  b.new_experiments.push_back(e.row);
  std::map<std::string, Job*> by_name;
  std::vector<Job*> created;
  for (const dag::JobSpec& js : req.spec.jobs) {  // topological order: deps exist already
    auto j = std::make_unique<Job>();
    JobRow& r = j->row;
    r.id = id + "/" + js.name;
    r.experiment_id = id;
    r.name = js.name;
    r.kind = js.kind;
    r.attempt = 1;
    r.max_retries = js.retries;
    r.priority = js.priority;
    r.seq = next_job_seq_++;
    r.params_json = js.params.dump();
    r.depends_on = js.depends_on;
    r.resources.gpus = js.gpus;
    r.resources.gpu_memory_mb = js.gpu_memory_mb;
    r.resources.labels = js.labels;
    r.cache = js.cache;
    r.created_ms = wall;
    r.state = js.depends_on.empty() ? JobState::kReady : JobState::kPending;
    j->exp = &e;
    for (const std::string& dep : js.depends_on) {
      Job* d = by_name.at(dep);
      j->deps.push_back(d);
      d->dependents.push_back(j.get());
    }
    j->unfinished_deps = static_cast<int>(js.depends_on.size());
    e.counts[static_cast<int>(r.state)]++;
    global_counts_[static_cast<int>(r.state)]++;
    e.jobs.push_back(j.get());
    by_name[js.name] = j.get();
    created.push_back(j.get());
    b.new_jobs.push_back(r);
    AddEvent(b, id, r.id, "job_state", r.state, "submitted");
    jobs_[r.id] = std::move(j);
  }
  AddEvent(b, id, "", "experiment_state", JobState::kUnspecified, ExperimentStateName(e.row.state));
  by_key_[key] = &e;
  experiments_[id] = std::move(exp);
  for (Job* j : created) {
    if (j->row.state == JobState::kReady && !TryCacheHit(*j, b)) MakeReady(*j, 0);
  }
  spdlog::info("experiment={} submitted jobs={}", id, created.size());
  Experiment* ep = &e;
  CommitAndReply(std::move(b), [this, ep, reply](const Status& s) {
    if (!s.ok()) return reply(s);
    reply(SubmitResult{ViewOf(*ep), false});
  });
  ServeWaiters();
}

void Scheduler::CancelJob(const std::string& id, const std::string& reason, Reply<JobRow> reply) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return reply(NotFoundError("job '{}' not found", id));
  Job& j = *it->second;
  if (IsTerminal(j.row.state)) {
    return reply(FailedPreconditionError("job {} is already {}", id, JobStateName(j.row.state)));
  }
  store::WriteBatch b;
  const bool held = j.row.state == JobState::kLeased || j.row.state == JobState::kRunning;
  int32_t a = j.row.attempt;
  int64_t e = j.row.lease_epoch;
  RemoveFromQueues(j);
  if (held) {
    ReleaseHold(j);
    j.cancel_notify = true;
    b.attempts.push_back({j.row.id, j.row.attempt, j.row.lease_epoch, j.row.worker_id, 0,
                          clock_->WallMs(), "cancelled", reason});
  }
  j.row.error = reason.empty() ? "cancelled" : "cancelled: " + reason;
  j.row.finished_ms = clock_->WallMs();
  Transition(j, JobEvent::kCancel, b, j.row.error);
  EmitJobUpdate(j, a, e, b);
  CancelDownstream(j, b);
  OnJobDone(j, b);
  spdlog::info("job={} cancelled held={}", id, held);
  Job* jp = &j;
  CommitAndReply(std::move(b), [jp, reply](const Status& s) {
    if (!s.ok()) return reply(s);
    reply(jp->row);
  });
}

void Scheduler::CancelExperiment(const std::string& id, const std::string& reason,
                                 Reply<ExperimentView> reply) {
  auto it = experiments_.find(id);
  if (it == experiments_.end()) return reply(NotFoundError("experiment '{}' not found", id));
  Experiment& e = *it->second;
  store::WriteBatch b;
  const std::string why = reason.empty() ? "experiment cancelled" : "experiment cancelled: " + reason;
  for (Job* j : e.jobs) {
    if (IsTerminal(j->row.state)) continue;
    const bool held = j->row.state == JobState::kLeased || j->row.state == JobState::kRunning;
    int32_t a = j->row.attempt;
    int64_t ep = j->row.lease_epoch;
    RemoveFromQueues(*j);
    if (held) {
      ReleaseHold(*j);
      j->cancel_notify = true;
      b.attempts.push_back({j->row.id, j->row.attempt, j->row.lease_epoch, j->row.worker_id, 0,
                            clock_->WallMs(), "cancelled", why});
    }
    j->row.error = why;
    j->row.finished_ms = clock_->WallMs();
    Transition(*j, JobEvent::kCancel, b, why);
    EmitJobUpdate(*j, a, ep, b);
  }
  Experiment* ep = &e;
  CommitAndReply(std::move(b), [this, ep, reply](const Status& s) {
    if (!s.ok()) return reply(s);
    reply(ViewOf(*ep));
  });
}

void Scheduler::RetryJob(const std::string& id, Reply<JobRow> reply) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return reply(NotFoundError("job '{}' not found", id));
  Job& j = *it->second;
  if (j.row.state != JobState::kFailed && j.row.state != JobState::kCancelled) {
    return reply(FailedPreconditionError("job {} is {}; only FAILED or CANCELLED jobs can be retried",
                                         id, JobStateName(j.row.state)));
  }
  store::WriteBatch b;
  auto revive = [&](Job& x, bool bump) {
    int32_t a = x.row.attempt;
    int64_t e = x.row.lease_epoch;
    if (bump) {
      x.row.attempt++;
      x.row.max_retries = std::max(x.row.max_retries, x.row.attempt - 1);
    }
    x.row.error.clear();
    x.row.permanent_failure = false;
    x.row.finished_ms = 0;
    x.row.worker_id.clear();
    x.cancel_notify = false;
    Transition(x, JobEvent::kRetry, b, "retry requested");
    if (IsReextract(x)) {  // never leased: starts again in the coordinator
      EmitJobUpdate(x, a, e, b);
      OnReextractDepSucceeded(x, b);
      return;
    }
    x.unfinished_deps = 0;
    for (Job* d : x.deps) x.unfinished_deps += d->row.state != JobState::kSucceeded;
    if (x.unfinished_deps == 0) {
      Transition(x, JobEvent::kDepsSucceeded, b, "dependencies succeeded");
      MakeReady(x, 0);
    }
    EmitJobUpdate(x, a, e, b);
  };
  revive(j, true);
  std::deque<Job*> todo(j.dependents.begin(), j.dependents.end());
  std::set<Job*> seen;
  while (!todo.empty()) {
    Job* d = todo.front();
    todo.pop_front();
    if (!seen.insert(d).second) continue;
    if (d->row.state != JobState::kCancelled || d->row.error.rfind("dependency ", 0) != 0) continue;
    revive(*d, false);
    for (Job* dd : d->dependents) todo.push_back(dd);
  }
  Job* jp = &j;
  CommitAndReply(std::move(b), [jp, reply](const Status& s) {
    if (!s.ok()) return reply(s);
    reply(jp->row);
  });
  ServeWaiters();
}

// ------------------------------------------------------------------------------------------
// Workers

void Scheduler::RegisterWorker(RegisterRequest req, Reply<RegisterResult> reply) {
  if (req.name.empty()) return reply(InvalidArgumentError("worker field 'name': must not be empty"));
  if (req.slots < 1 || req.slots > 1024) {
    return reply(InvalidArgumentError("worker '{}' field 'slots': must be in [1, 1024], got {}", req.name, req.slots));
  }
  if (req.resources.gpus < 0 || req.resources.gpu_memory_mb < 0) {
    return reply(InvalidArgumentError("worker '{}' field 'resources': gpus and gpu_memory_mb must be >= 0", req.name));
  }
  const std::string id = "w-" + dag::Sha256Hex(req.name).substr(0, 12);
  auto& slot = workers_[id];
  if (!slot) {
    slot = std::make_unique<Worker>();
    slot->row.id = id;
    slot->row.name = req.name;
  }
  Worker& w = *slot;
  w.row.device = req.device;
  w.row.engine_version = req.engine_version;
  w.row.slots = req.slots;
  w.row.resources = req.resources;
  w.row.kinds = req.kinds;
  w.row.registered_ms = clock_->WallMs();
  w.last_seen_mono = clock_->MonoMs();

  store::WriteBatch b;
  RegisterResult result;
  result.worker_id = id;
  std::set<std::string> still_running;
  for (const Fence& f : req.running) {
    auto it = jobs_.find(f.job_id);
    bool ok = it != jobs_.end() &&
              CheckFence(f.job_id, it->second->row.state, it->second->row.attempt,
                         it->second->row.lease_epoch, f).ok() &&
              it->second->row.worker_id == id;
    if (!ok) {
      result.rejected.push_back(f);
      continue;
    }
    Job& j = *it->second;
    leases_.erase({j.lease_deadline, &j});
    j.lease_deadline = clock_->MonoMs() + config_.lease_ttl_ms;
    leases_.insert({j.lease_deadline, &j});
    still_running.insert(j.row.id);
  }
  // Jobs held for this worker that it no longer runs (it restarted): requeue them now rather
  // than waiting for their leases to expire.
  std::vector<std::string> lost;
  for (const std::string& jid : w.held) {
    if (!still_running.count(jid)) lost.push_back(jid);
  }
  for (const std::string& jid : lost) {
    Job& j = *jobs_.at(jid);
    FailHeld(j, fmt::format("worker {} re-registered without it", req.name), false,
             JobEvent::kLeaseExpired, b, /*backoff=*/false);
  }
  b.workers.push_back(w.row);
  AddEvent(b, "", "", "worker", JobState::kUnspecified, fmt::format("worker {} ({}) registered", req.name, id));
  spdlog::info("worker={} name={} registered slots={} gpus={} running={} rejected={}", id, req.name,
               req.slots, req.resources.gpus, still_running.size(), result.rejected.size());
  CommitAndReply(std::move(b), [result, reply](const Status& s) {
    if (!s.ok()) return reply(s);
    reply(result);
  });
  if (!lost.empty()) ServeWaiters();
}

bool Scheduler::Matches(const Worker& w, const Job& j) const {
  if (IsReextract(j)) return false;  // run by the coordinator itself
  if (!w.row.kinds.empty() &&
      std::find(w.row.kinds.begin(), w.row.kinds.end(), j.row.kind) == w.row.kinds.end()) {
    return false;
  }
  const Resources& need = j.row.resources;
  if (need.gpus > w.row.resources.gpus - w.used_gpus) return false;
  if (need.gpus > 0 && need.gpu_memory_mb > w.row.resources.gpu_memory_mb) return false;
  for (const auto& [k, v] : need.labels) {
    auto it = w.row.resources.labels.find(k);
    if (it == w.row.resources.labels.end() || it->second != v) return false;
  }
  return true;
}

std::vector<Lease> Scheduler::LeaseTo(Worker& w, int32_t n, store::WriteBatch& b) {
  std::vector<Lease> out;
  if (n <= 0 || w.row.draining || w.row.cordoned) return out;
  const int64_t wall = clock_->WallMs();
  const int64_t mono = clock_->MonoMs();
  for (auto it = ready_.begin(); it != ready_.end() && static_cast<int32_t>(out.size()) < n;) {
    Job& j = *std::get<2>(*it);
    if (!Matches(w, j)) {
      ++it;
      continue;
    }
    it = ready_.erase(it);
    int32_t a = j.row.attempt;
    int64_t e = j.row.lease_epoch;
    j.row.lease_epoch++;
    j.row.worker_id = w.row.id;
    j.row.started_ms = 0;
    j.row.progress = 0;
    j.row.progress_message.clear();
    j.lease_deadline = mono + config_.lease_ttl_ms;
    leases_.insert({j.lease_deadline, &j});
    w.held.insert(j.row.id);
    w.used_gpus += j.row.resources.gpus;
    Transition(j, JobEvent::kLease, b, fmt::format("leased to {}", w.row.name));
    EmitJobUpdate(j, a, e, b);
    b.attempts.push_back({j.row.id, j.row.attempt, j.row.lease_epoch, w.row.id, wall, 0, "", ""});
    Lease l;
    l.job = j.row;
    l.fence = {j.row.id, j.row.attempt, j.row.lease_epoch};
    l.lease_ttl_ms = static_cast<int32_t>(config_.lease_ttl_ms);
    for (Job* d : j.deps) l.inputs[d->row.name] = {d->row.outputs, d->row.result_json};
    PrepareLease(j, &l);
    out.push_back(std::move(l));
  }
  return out;
}

void Scheduler::AcquireJobs(const std::string& worker_id, int32_t free_slots, int32_t wait_ms,
                            Reply<std::vector<Lease>> reply) {
  auto wit = workers_.find(worker_id);
  if (wit == workers_.end()) {
    return reply(NotFoundError("unknown worker '{}': register first", worker_id));
  }
  Worker& w = *wit->second;
  w.last_seen_mono = clock_->MonoMs();
  const int32_t n = std::min(free_slots, w.row.slots);
  store::WriteBatch b;
  std::vector<Lease> leases = LeaseTo(w, n, b);
  if (!leases.empty()) {
    auto shared = std::make_shared<std::vector<Lease>>(std::move(leases));
    CommitAndReply(std::move(b), [this, shared, reply](const Status& s) {
      if (!s.ok()) return reply(s);
      const int64_t now = NowUs();
      for (const Lease& l : *shared) {
        auto it = jobs_.find(l.job.id);
        if (it == jobs_.end()) continue;
        double us = static_cast<double>(now - it->second->ready_at_us);
        if (dispatch_us_.size() < kMaxDispatchSamples) dispatch_us_.push_back(us);
        if (dispatch_seconds_) dispatch_seconds_->Observe(us / 1e6);
      }
      reply(std::move(*shared));
    });
    return;
  }
  const int64_t wait = std::min<int64_t>(std::max(0, wait_ms), config_.max_wait_ms);
  if (wait <= 0 || n <= 0) return reply(std::vector<Lease>{});
  waiters_.push_back({worker_id, n, clock_->MonoMs() + wait, std::move(reply)});
}

void Scheduler::ServeWaiters() {
  for (auto it = waiters_.begin(); it != waiters_.end() && !ready_.empty();) {
    auto wit = workers_.find(it->worker_id);
    if (wit == workers_.end()) {
      ++it;
      continue;
    }
    store::WriteBatch b;
    std::vector<Lease> leases = LeaseTo(*wit->second, it->free_slots, b);
    if (leases.empty()) {
      ++it;
      continue;
    }
    Reply<std::vector<Lease>> reply = std::move(it->reply);
    it = waiters_.erase(it);
    auto shared = std::make_shared<std::vector<Lease>>(std::move(leases));
    CommitAndReply(std::move(b), [this, shared, reply](const Status& s) {
      if (!s.ok()) return reply(s);
      const int64_t now = NowUs();
      for (const Lease& l : *shared) {
        auto jt = jobs_.find(l.job.id);
        if (jt == jobs_.end()) continue;
        double us = static_cast<double>(now - jt->second->ready_at_us);
        if (dispatch_us_.size() < kMaxDispatchSamples) dispatch_us_.push_back(us);
        if (dispatch_seconds_) dispatch_seconds_->Observe(us / 1e6);
      }
      reply(std::move(*shared));
    });
  }
}

StatusOr<HeartbeatResult> Scheduler::Heartbeat(const std::string& worker_id,
                                               const std::vector<Fence>& running) {
  auto wit = workers_.find(worker_id);
  if (wit == workers_.end()) return NotFoundError("unknown worker '{}': register again", worker_id);
  Worker& w = *wit->second;
  const int64_t now = clock_->MonoMs();
  w.last_seen_mono = now;
  HeartbeatResult r;
  r.drain = w.row.draining;
  for (const Fence& f : running) {
    auto it = jobs_.find(f.job_id);
    if (it == jobs_.end()) {
      r.stale.push_back(f);
      continue;
    }
    Job& j = *it->second;
    if (j.row.state == JobState::kCancelled && j.row.attempt == f.attempt &&
        j.row.lease_epoch == f.lease_epoch) {
      r.cancel_job_ids.push_back(j.row.id);
      continue;
    }
    if (!CheckFence(j.row.id, j.row.state, j.row.attempt, j.row.lease_epoch, f).ok() ||
        j.row.worker_id != worker_id) {
      r.stale.push_back(f);
      continue;
    }
    leases_.erase({j.lease_deadline, &j});
    j.lease_deadline = now + config_.lease_ttl_ms;
    leases_.insert({j.lease_deadline, &j});
  }
  return r;
}

StatusOr<Scheduler::Job*> Scheduler::FencedJob(const Fence& fence) {
  auto it = jobs_.find(fence.job_id);
  if (it == jobs_.end()) return NotFoundError("job '{}' not found", fence.job_id);
  Job& j = *it->second;
  Status s = CheckFence(j.row.id, j.row.state, j.row.attempt, j.row.lease_epoch, fence);
  if (!s.ok()) {
    if (stale_reports_total_) stale_reports_total_->Inc();
    spdlog::warn("job={} attempt={} lease={} stale report rejected: {}", fence.job_id,
                 fence.attempt, fence.lease_epoch, s.message());
    return s;
  }
  // Any valid report proves the worker alive: renew the lease.
  leases_.erase({j.lease_deadline, &j});
  j.lease_deadline = clock_->MonoMs() + config_.lease_ttl_ms;
  leases_.insert({j.lease_deadline, &j});
  auto w = workers_.find(j.row.worker_id);
  if (w != workers_.end()) w->second->last_seen_mono = clock_->MonoMs();
  return &j;
}

void Scheduler::ReportStarted(const Fence& fence, StatusReply reply) {
  StatusOr<Job*> jr = FencedJob(fence);
  if (!jr.ok()) return reply(jr.status());
  Job& j = **jr;
  if (j.row.state == JobState::kRunning) return reply(Status::OK());  // duplicate report
  store::WriteBatch b;
  int32_t a = j.row.attempt;
  int64_t e = j.row.lease_epoch;
  j.row.started_ms = clock_->WallMs();
  Transition(j, JobEvent::kStart, b, "started");
  EmitJobUpdate(j, a, e, b);
  CommitAndReply(std::move(b), [reply](const Status& s) { reply(s); });
}

void Scheduler::ReportProgress(const Fence& fence, double progress, const std::string& message,
                               const std::string& metrics_json, Reply<bool> reply) {
  auto it = jobs_.find(fence.job_id);
  if (it != jobs_.end() && it->second->row.state == JobState::kCancelled &&
      it->second->row.attempt == fence.attempt && it->second->row.lease_epoch == fence.lease_epoch) {
    return reply(true);  // cancelled while running: tell the worker to stop
  }
  StatusOr<Job*> jr = FencedJob(fence);
  if (!jr.ok()) return reply(jr.status());
  Job& j = **jr;
  if (!(progress >= 0.0 && progress <= 1.0)) {
    return reply(InvalidArgumentError("job {} field 'progress': must be in [0, 1], got {}", j.row.id, progress));
  }
  store::WriteBatch b;
  int32_t a = j.row.attempt;
  int64_t e = j.row.lease_epoch;
  j.row.progress = progress;
  j.row.progress_message = message;
  if (j.row.state == JobState::kLeased) {
    j.row.started_ms = clock_->WallMs();
    Transition(j, JobEvent::kProgress, b, "started");
  }
  AddEvent(b, j.row.experiment_id, j.row.id, "progress", j.row.state, message, progress);
  EmitJobUpdate(j, a, e, b);
  if (!metrics_json.empty()) {
    // Step metrics and checkpoints ride on progress; a malformed one is logged, never fatal.
    nlohmann::json m = nlohmann::json::parse(metrics_json, nullptr, false);
    for (tracking::MetricRow& r : tracking::ParseStepMetrics(m, j.row.id)) b.tracking.metrics.push_back(std::move(r));
    if (j.row.kind == tracking::kFinetuneKind) {
      auto c = tracking::ParseCheckpointReport(m, j.row, clock_->WallMs());
      if (!c.ok()) {
        spdlog::warn("{}", c.status().message());
      } else if (c->has_value()) {
        OnCheckpoint(j, std::move(**c), b);
      }
    }
  }
  CommitAndReply(std::move(b), [reply](const Status& s) {
    if (!s.ok()) return reply(s);
    reply(false);
  });
  ServeWaiters();
}

void Scheduler::ReportComplete(const Fence& fence, std::vector<Artifact> outputs,
                               std::string result_json, StatusReply reply) {
  auto it = jobs_.find(fence.job_id);
  if (it != jobs_.end() && it->second->row.state == JobState::kCancelled &&
      it->second->row.attempt == fence.attempt && it->second->row.lease_epoch == fence.lease_epoch) {
    return reply(FailedPreconditionError("job {} was cancelled; its results are discarded", fence.job_id));
  }
  StatusOr<Job*> jr = FencedJob(fence);
  if (!jr.ok()) return reply(jr.status());
  Job& j = **jr;
  store::WriteBatch b;
  int32_t a = j.row.attempt;
  int64_t e = j.row.lease_epoch;
  ReleaseHold(j);
  const int64_t wall = clock_->WallMs();
  if (j.row.started_ms == 0) j.row.started_ms = wall;
  j.row.finished_ms = wall;
  j.row.progress = 1.0;
  j.row.outputs = std::move(outputs);
  j.row.result_json = std::move(result_json);
  j.row.error.clear();
  Transition(j, JobEvent::kComplete, b, "succeeded");
  EmitJobUpdate(j, a, e, b, /*outputs=*/true);
  b.attempts.push_back({j.row.id, j.row.attempt, j.row.lease_epoch, j.row.worker_id, 0, wall, "succeeded", ""});
  RecordCache(j, b);
  OnSucceeded(j, b);
  CommitAndReply(std::move(b), [reply](const Status& s) { reply(s); });
  ServeWaiters();
}

void Scheduler::FailHeld(Job& j, const std::string& error, bool permanent, JobEvent retry_event,
                         store::WriteBatch& b, bool backoff) {
  int32_t a = j.row.attempt;
  int64_t e = j.row.lease_epoch;
  const int64_t wall = clock_->WallMs();
  const char* outcome = retry_event == JobEvent::kLeaseExpired ? "expired"
                        : retry_event == JobEvent::kRelease    ? "released"
                                                               : "failed";
  b.attempts.push_back({j.row.id, j.row.attempt, j.row.lease_epoch, j.row.worker_id, 0, wall, outcome, error});
  ReleaseHold(j);
  j.row.error = error;
  if (retry_event == JobEvent::kRelease) {
    j.row.worker_id.clear();
    Transition(j, JobEvent::kRelease, b, "released: " + error);
    EmitJobUpdate(j, a, e, b);
    MakeReady(j, 0);
    return;
  }
  if (permanent || j.row.attempt > j.row.max_retries) {
    j.row.permanent_failure = permanent;
    j.row.finished_ms = wall;
    std::string why = permanent ? error : fmt::format("{} (attempt {} of {})", error, j.row.attempt, j.row.max_retries + 1);
    j.row.error = why;
    Transition(j, JobEvent::kFailFinal, b, why);
    EmitJobUpdate(j, a, e, b);
    spdlog::warn("job={} attempt={} failed permanently={}: {}", j.row.id, j.row.attempt, permanent, error);
    CancelDownstream(j, b);
    OnJobDone(j, b);
    return;
  }
  int64_t delay = 0;
  if (backoff) {
    delay = config_.retry_backoff_ms;
    for (int i = 1; i < j.row.attempt && delay < config_.retry_backoff_max_ms; ++i) delay *= 2;
    delay = std::min(delay, config_.retry_backoff_max_ms);
  }
  j.row.attempt++;
  j.row.worker_id.clear();
  j.row.not_before_ms = wall + delay;
  Transition(j, retry_event, b, fmt::format("retry (attempt {}) after {} ms: {}", j.row.attempt, delay, error));
  EmitJobUpdate(j, a, e, b);
  spdlog::warn("job={} retry attempt={} backoff_ms={}: {}", j.row.id, j.row.attempt, delay, error);
  MakeReady(j, delay);
}

void Scheduler::ReportFailed(const Fence& fence, const std::string& error, bool permanent,
                             bool cancelled, StatusReply reply) {
  auto it = jobs_.find(fence.job_id);
  if (cancelled && it != jobs_.end() && it->second->row.state == JobState::kCancelled &&
      it->second->row.attempt == fence.attempt && it->second->row.lease_epoch == fence.lease_epoch) {
    it->second->cancel_notify = false;
    return reply(Status::OK());  // the worker confirms a cancellation we asked for
  }
  StatusOr<Job*> jr = FencedJob(fence);
  if (!jr.ok()) return reply(jr.status());
  Job& j = **jr;
  store::WriteBatch b;
  if (cancelled) {
    // Stopped by the worker itself (e.g. shutting down): hand back without penalty.
    FailHeld(j, error.empty() ? "stopped by worker" : error, false, JobEvent::kRelease, b, false);
  } else {
    FailHeld(j, error.empty() ? "failed" : error, permanent, JobEvent::kFailRetry, b, true);
  }
  CommitAndReply(std::move(b), [reply](const Status& s) { reply(s); });
  ServeWaiters();
}

void Scheduler::ReleaseJob(const Fence& fence, const std::string& reason, StatusReply reply) {
  StatusOr<Job*> jr = FencedJob(fence);
  if (!jr.ok()) return reply(jr.status());
  store::WriteBatch b;
  FailHeld(**jr, reason.empty() ? "released by worker" : reason, false, JobEvent::kRelease, b, false);
  CommitAndReply(std::move(b), [reply](const Status& s) { reply(s); });
  ServeWaiters();
}

// ------------------------------------------------------------------------------------------
// Operators

void Scheduler::SetDrain(const std::string& worker, bool undo, Reply<WorkerView> reply) {
  Worker* w = FindWorker(worker);
  if (!w) return reply(NotFoundError("worker '{}' not found", worker));
  w->row.draining = !undo;
  store::WriteBatch b;
  b.workers.push_back(w->row);
  AddEvent(b, "", "", "worker", JobState::kUnspecified,
           fmt::format("worker {} {}", w->row.name, undo ? "undrained" : "draining"));
  spdlog::info("worker={} draining={}", w->row.id, !undo);
  CommitAndReply(std::move(b), [this, w, reply](const Status& s) {
    if (!s.ok()) return reply(s);
    reply(ViewOf(*w));
  });
  if (undo) ServeWaiters();
}

void Scheduler::SetCordon(const std::string& worker, bool undo, Reply<WorkerView> reply) {
  Worker* w = FindWorker(worker);
  if (!w) return reply(NotFoundError("worker '{}' not found", worker));
  w->row.cordoned = !undo;
  store::WriteBatch b;
  b.workers.push_back(w->row);
  AddEvent(b, "", "", "worker", JobState::kUnspecified,
           fmt::format("worker {} {}", w->row.name, undo ? "uncordoned" : "cordoned"));
  spdlog::info("worker={} cordoned={}", w->row.id, !undo);
  CommitAndReply(std::move(b), [this, w, reply](const Status& s) {
    if (!s.ok()) return reply(s);
    reply(ViewOf(*w));
  });
  if (undo) ServeWaiters();
}

std::vector<WorkerView> Scheduler::ListWorkers(bool include_dead) const {
  std::vector<WorkerView> out;
  for (const auto& [id, w] : workers_) {
    WorkerView v = ViewOf(*w);
    if (v.alive || include_dead) out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(), [](const WorkerView& a, const WorkerView& b) { return a.row.name < b.row.name; });
  return out;
}

// ------------------------------------------------------------------------------------------
// Timers

void Scheduler::OnTimer() {
  const int64_t now = clock_->MonoMs();
  store::WriteBatch b;
  while (!leases_.empty() && leases_.begin()->first <= now) {
    Job& j = *leases_.begin()->second;
    leases_.erase(leases_.begin());
    j.lease_deadline = 0;
    lease_expiries_++;
    if (lease_expiries_total_) lease_expiries_total_->Inc();
    std::string worker_name = j.row.worker_id;
    auto w = workers_.find(j.row.worker_id);
    if (w != workers_.end()) worker_name = w->second->row.name;
    FailHeld(j, fmt::format("lease expired on worker {} (no heartbeat for {} ms)", worker_name, config_.lease_ttl_ms),
             false, JobEvent::kLeaseExpired, b, /*backoff=*/false);
  }
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    Job& j = *delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    j.due_mono_ms = 0;
    j.ready_at_us = NowUs();
    ready_.insert({-j.row.priority, j.row.seq, &j});
  }
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->deadline <= now) {
      Reply<std::vector<Lease>> r = std::move(it->reply);
      it = waiters_.erase(it);
      r(std::vector<Lease>{});
    } else {
      ++it;
    }
  }
  if (!b.empty()) CommitAndReply(std::move(b), [](const Status&) {});
  PublishGauges();
  ServeWaiters();
}

int64_t Scheduler::NextDeadlineMs() const {
  int64_t next = INT64_MAX;
  if (!leases_.empty()) next = std::min(next, leases_.begin()->first);
  if (!delayed_.empty()) next = std::min(next, delayed_.begin()->first);
  for (const Waiter& w : waiters_) next = std::min(next, w.deadline);
  return next;
}

void Scheduler::FlushWaiters() {
  auto all = std::move(waiters_);
  waiters_.clear();
  for (Waiter& w : all) w.reply(std::vector<Lease>{});
}

}  // namespace fc::coord
