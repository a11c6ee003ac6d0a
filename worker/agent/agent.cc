#include "worker/agent/agent.h"

#include <grpcpp/grpcpp.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "fc/v1/workers.grpc.pb.h"
#include "worker/agent/backoff.h"
#include "worker/agent/job_output.h"
#include "worker/transfer/job_artifacts.h"

namespace fc::agent {
namespace {

namespace pb = ::fc::v1;
using Clock = std::chrono::steady_clock;

std::chrono::system_clock::time_point DeadlineIn(int64_t ms) {
  return std::chrono::system_clock::now() + std::chrono::milliseconds(ms);
}

Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return Status::OK();
  return Status(static_cast<StatusCode>(s.error_code()), s.error_message());
}

// The coordinator is unreachable (or restarting): re-register before going on.
bool IsConnectionLoss(StatusCode c) {
  return c == StatusCode::kUnavailable || c == StatusCode::kDeadlineExceeded;
}

// The coordinator no longer holds this fence for us: drop whatever we wanted to report.
bool IsStale(StatusCode c) {
  return c == StatusCode::kFailedPrecondition || c == StatusCode::kNotFound;
}

std::string FenceStr(const pb::Fence& f) {
  return fmt::format("job={} attempt={} lease={}", f.job_id(), f.attempt(), f.lease_epoch());
}

// job ids are "<experiment>/<name>": one directory level per id part, nothing escapes work_dir.
std::string SafePathPart(const std::string& s) {
  std::string out;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    out.push_back(ok ? c : '_');
  }
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

ArtifactRef FromProto(const pb::Artifact& a) {
  return ArtifactRef{a.name(), a.sha256(), a.size(), a.kind(), a.uri()};
}

void ToProto(const ArtifactRef& a, pb::Artifact* out) {
  out->set_name(a.name);
  out->set_sha256(a.sha256);
  out->set_size(a.size);
  out->set_kind(a.kind);
  out->set_uri(a.uri);
}

}  // namespace

class Agent::Impl {
 public:
  Impl(AgentConfig config, const ExecutorRegistry* registry)
      : cfg_(std::move(config)), registry_(registry) {
    grpc::ChannelArguments args;
    // A restarted coordinator must be found again within seconds, not gRPC's default 120 s cap.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, cfg_.reconnect_initial_ms);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, cfg_.reconnect_initial_ms);
    // Capped at 1 s: with wait_for_ready calls below, a restarted coordinator is found within
    // about a second of it listening, inside the grace it gives workers to re-attach leases.
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, std::min(cfg_.reconnect_max_ms, 1000));
    channel_ = grpc::CreateCustomChannel(cfg_.coordinator, grpc::InsecureChannelCredentials(), args);
    stub_ = pb::WorkerService::NewStub(channel_);
  }

  Status Run();
  // grace_ms < 0: the configured drain grace.
  void RequestDrain(int grace_ms) {
    if (grace_ms < 0) grace_ms = cfg_.drain_grace_ms;
    std::lock_guard<std::mutex> l(mu_);
    if (!drain_requested_) {
      drain_requested_ = true;
      drain_deadline_ = Clock::now() + std::chrono::milliseconds(grace_ms);
    } else {
      drain_deadline_ = std::min(drain_deadline_, Clock::now() + std::chrono::milliseconds(grace_ms));
    }
    cv_.notify_all();
  }

 private:
  struct RunningJob {
    pb::Fence fence;
    std::shared_ptr<CancelToken> cancel = std::make_shared<CancelToken>();
    bool cancel_requested = false;  // the coordinator asked: report as cancelled
    bool abandoned = false;         // lease lost or handed back: report nothing more
    bool finishing = false;         // executor returned; its final report is being delivered
    bool done = false;              // thread finished; join and erase
    std::thread thread;
  };

  Status Register();
  void HeartbeatLoop();
  void HeartbeatOnce();
  void AcquireOnce(int free_slots);
  void StartJob(const pb::LeasedJob& leased);
  void RunJob(RunningJob* job, pb::LeasedJob leased);
  void ThrottledProgress(RunningJob* job, Clock::time_point* last, const std::string& out_dir, double p,
                         const std::string& msg, const nlohmann::json& metrics);
  // Sends a final report until delivered, stale, or the job was abandoned meanwhile.
  template <typename SendFn>
  void DeliverFinal(RunningJob* job, const char* what, SendFn send);
  void Release(const pb::Fence& fence, const std::string& reason);
  void DrainAndRelease();
  void ReapFinished();
  void MarkDisconnected(const Status& why);
  void Abandon(const std::string& job_id, const char* why);  // mu_ held
  std::vector<pb::Fence> LiveFences();                        // mu_ held
  int ActiveJobs();                                           // mu_ held
  // Waits up to ms or until drain/stop; returns false when draining.
  bool SleepUnlessDraining(int64_t ms);

  const AgentConfig cfg_;
  const ExecutorRegistry* registry_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::WorkerService::Stub> stub_;
  // Moves inputs in and outputs out through the coordinator's artifact store (or a shared
  // directory); null when it could not be set up (outputs are then reported as local paths).
  std::unique_ptr<transfer::ArtifactClient> artifacts_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::string worker_id_;
  bool registered_ = false;
  int heartbeat_interval_ms_ = 2000;
  bool coordinator_drain_ = false;
  bool drain_requested_ = false;
  Clock::time_point drain_deadline_;
  bool stopping_heartbeats_ = false;
  bool give_up_reports_ = false;  // drain grace is over: stop retrying undelivered reports
  std::map<std::string, std::unique_ptr<RunningJob>> jobs_;
};

Status Agent::Impl::Run() {
  if (cfg_.name.empty()) return InvalidArgumentError("fc-worker: --name must not be empty");
  if (cfg_.slots < 1) return InvalidArgumentError("fc-worker: --slots must be >= 1, got {}", cfg_.slots);
  FC_RETURN_IF_ERROR(MakeDirs(cfg_.work_dir));
  transfer::ArtifactClientOptions topts;
  topts.cache_dir = cfg_.work_dir + "/cache";
  auto client = cfg_.shared_artifacts.empty()
                    ? transfer::ArtifactClient::ForChannel(channel_, topts)
                    : transfer::ArtifactClient::ForSharedDir(cfg_.shared_artifacts, topts);
  if (client.ok()) {
    artifacts_ = std::move(client).value();
  } else {
    spdlog::warn("artifact transfer disabled ({}); outputs are reported as local paths",
                 client.status().ToString());
  }
  spdlog::info("worker name={} coordinator={} device={} slots={} kinds={}", cfg_.name,
               cfg_.coordinator, cfg_.device, cfg_.slots, fmt::join(registry_->Kinds(), ","));
  std::thread heartbeats([this] { HeartbeatLoop(); });
  Backoff reconnect(cfg_.reconnect_initial_ms, cfg_.reconnect_max_ms);
  Status fatal = Status::OK();
  while (true) {
    ReapFinished();
    bool registered, take_work;
    int free_slots;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (drain_requested_) break;
      registered = registered_;
      free_slots = cfg_.slots - ActiveJobs();
      take_work = !coordinator_drain_ && free_slots > 0;
    }
    if (!registered) {
      Status s = Register();
      if (s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kPermissionDenied ||
          s.code() == StatusCode::kUnauthenticated) {
        // Retrying cannot help: the coordinator refuses this worker's flags or credentials.
        fatal = s.WithContext(fmt::format("coordinator {} refused the registration", cfg_.coordinator));
        spdlog::error("{}", fatal.ToString());
        break;
      }
      if (!s.ok()) {
        int64_t d = reconnect.NextDelayMs();
        spdlog::warn("register with {} failed ({}); retrying in {} ms", cfg_.coordinator,
                     s.ToString(), d);
        SleepUnlessDraining(d);
      } else {
        reconnect.Reset();
      }
      continue;
    }
    if (!take_work) {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, std::chrono::milliseconds(250));
      continue;
    }
    AcquireOnce(free_slots);
  }
  if (!fatal.ok()) RequestDrain(0);  // sets the (past) deadline DrainAndRelease waits for
  DrainAndRelease();
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_heartbeats_ = true;
    cv_.notify_all();
  }
  heartbeats.join();
  if (!fatal.ok()) return fatal;
  spdlog::info("worker name={} drained, exiting", cfg_.name);
  return Status::OK();
}

Status Agent::Impl::Register() {
  pb::RegisterWorkerRequest req;
  req.set_name(cfg_.name);
  req.set_device(cfg_.device);
  req.set_slots(cfg_.slots);
  req.mutable_resources()->set_gpus(cfg_.gpus);
  req.mutable_resources()->set_gpu_memory_mb(cfg_.gpu_memory_mb);
  for (const auto& [k, v] : cfg_.labels) (*req.mutable_resources()->mutable_labels())[k] = v;
  for (const std::string& k : registry_->Kinds()) req.add_kinds(k);
  req.set_engine_version(cfg_.engine_version);
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const pb::Fence& f : LiveFences()) *req.add_running() = f;
  }
  pb::RegisterWorkerReply reply;
  grpc::ClientContext ctx;
  // Wait for the channel to (re)connect rather than fail fast during gRPC's reconnect backoff.
  ctx.set_wait_for_ready(true);
  ctx.set_deadline(DeadlineIn(cfg_.rpc_timeout_ms));
  FC_RETURN_IF_ERROR(FromGrpc(stub_->RegisterWorker(&ctx, req, &reply)));
  std::lock_guard<std::mutex> l(mu_);
  worker_id_ = reply.worker_id();
  if (reply.heartbeat_interval_ms() > 0) heartbeat_interval_ms_ = reply.heartbeat_interval_ms();
  for (const pb::Fence& f : reply.rejected()) Abandon(f.job_id(), "rejected at registration");
  registered_ = true;
  cv_.notify_all();
  spdlog::info("registered worker={} name={} heartbeat_ms={} lease_ttl_ms={} reattached={} rejected={}",
               worker_id_, cfg_.name, heartbeat_interval_ms_, reply.lease_ttl_ms(),
               req.running_size() - reply.rejected_size(), reply.rejected_size());
  return Status::OK();
}

void Agent::Impl::MarkDisconnected(const Status& why) {
  std::lock_guard<std::mutex> l(mu_);
  if (registered_) {
    spdlog::warn("lost coordinator {} ({}); will re-register", cfg_.coordinator, why.ToString());
  }
  registered_ = false;
  cv_.notify_all();
}

void Agent::Impl::HeartbeatLoop() {
  Clock::time_point last = Clock::now();
  while (true) {
    {
      std::unique_lock<std::mutex> l(mu_);
      // Re-read the interval on every wake-up: registration changes it.
      while (!stopping_heartbeats_) {
        Clock::time_point next = last + std::chrono::milliseconds(heartbeat_interval_ms_);
        if (Clock::now() >= next) break;
        cv_.wait_until(l, next);
      }
      if (stopping_heartbeats_) return;
      last = Clock::now();
      if (!registered_) continue;
    }
    HeartbeatOnce();
  }
}

void Agent::Impl::HeartbeatOnce() {
  pb::HeartbeatRequest req;
  {
    std::lock_guard<std::mutex> l(mu_);
    req.set_worker_id(worker_id_);
    for (const pb::Fence& f : LiveFences()) *req.add_running() = f;
  }
  pb::HeartbeatReply reply;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineIn(std::min(cfg_.rpc_timeout_ms, std::max(heartbeat_interval_ms_, 1000))));
  Status s = FromGrpc(stub_->Heartbeat(&ctx, req, &reply));
  if (!s.ok()) {
    // NOT_FOUND: the coordinator does not know this worker id (e.g. a fresh database).
    if (IsConnectionLoss(s.code()) || s.code() == StatusCode::kNotFound) {
      MarkDisconnected(s);
    } else {
      spdlog::warn("heartbeat worker={} failed: {}", req.worker_id(), s.ToString());
    }
    return;
  }
  std::lock_guard<std::mutex> l(mu_);
  for (const std::string& id : reply.cancel_job_ids()) {
    auto it = jobs_.find(id);
    if (it == jobs_.end() || it->second->abandoned) continue;
    if (!it->second->cancel_requested) spdlog::info("cancel requested job={}", id);
    it->second->cancel_requested = true;
    it->second->cancel->Cancel();
  }
  for (const pb::Fence& f : reply.stale()) {
    auto it = jobs_.find(f.job_id());
    if (it != jobs_.end() && it->second->fence.attempt() == f.attempt() &&
        it->second->fence.lease_epoch() == f.lease_epoch()) {
      Abandon(f.job_id(), "lease stale");
    }
  }
  if (reply.drain() != coordinator_drain_) {
    spdlog::info("worker={} coordinator drain={}", worker_id_, reply.drain());
    coordinator_drain_ = reply.drain();
    cv_.notify_all();
  }
}

void Agent::Impl::AcquireOnce(int free_slots) {
  pb::AcquireJobRequest req;
  {
    std::lock_guard<std::mutex> l(mu_);
    req.set_worker_id(worker_id_);
  }
  req.set_free_slots(free_slots);
  req.set_wait_ms(cfg_.acquire_wait_ms);
  pb::AcquireJobReply reply;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineIn(cfg_.acquire_wait_ms + cfg_.rpc_timeout_ms));
  Status s = FromGrpc(stub_->AcquireJob(&ctx, req, &reply));
  if (!s.ok()) {
    if (IsConnectionLoss(s.code()) || s.code() == StatusCode::kNotFound) {
      MarkDisconnected(s);
    } else {
      // e.g. FAILED_PRECONDITION for a cordoned worker: wait a little and ask again.
      spdlog::warn("acquire worker={} failed: {}", req.worker_id(), s.ToString());
      SleepUnlessDraining(500);
    }
    return;
  }
  for (const pb::LeasedJob& leased : reply.jobs()) StartJob(leased);
}

void Agent::Impl::StartJob(const pb::LeasedJob& leased) {
  std::unique_lock<std::mutex> l(mu_);
  const std::string& id = leased.fence().job_id();
  if (drain_requested_) {
    l.unlock();
    Release(leased.fence(), "worker draining");
    return;
  }
  if (jobs_.count(id)) {
    // The same job again under a new fence means our old attempt is stale.
    Abandon(id, "re-leased under a new fence");
    l.unlock();
    ReapFinished();
    l.lock();
    if (jobs_.count(id)) {
      // The old thread has not finished yet: hand the new lease back rather than run twice.
      l.unlock();
      Release(leased.fence(), "previous attempt still stopping on this worker");
      return;
    }
  }
  auto job = std::make_unique<RunningJob>();
  job->fence = leased.fence();
  RunningJob* raw = job.get();
  jobs_[id] = std::move(job);
  spdlog::info("leased {} kind={} worker={}", FenceStr(leased.fence()), leased.job().kind(), worker_id_);
  raw->thread = std::thread([this, raw, leased] { RunJob(raw, leased); });
}

void Agent::Impl::ThrottledProgress(RunningJob* job, Clock::time_point* last, const std::string& out_dir, double p,
                                    const std::string& msg, const nlohmann::json& metrics_in) {
  auto now = Clock::now();
  // The final 100% always goes out, so the job's last message is the executor's last word. A
  // checkpoint announcement is never throttled: the coordinator fans re-extraction out from it.
  const bool announces_checkpoint = metrics_in.is_object() && metrics_in.contains("checkpoint");
  if (p < 1.0 && !announces_checkpoint && *last != Clock::time_point() &&
      now - *last < std::chrono::milliseconds(cfg_.progress_min_interval_ms)) {
    return;
  }
  *last = now;
  nlohmann::json metrics = metrics_in;
  if (announces_checkpoint && artifacts_) {
    // The checkpoint goes into the store before anyone hears of it: fan-out children and a
    // resumed attempt may run on another host. This runs on the executor's thread (training
    // waits for the upload; unchanged files are not sent again), never on a gRPC callback.
    auto uploaded = transfer::UploadCheckpointReport(*artifacts_, metrics_in, out_dir,
                                                     [job] { return job->cancel->cancelled(); });
    if (uploaded.ok()) {
      metrics = std::move(uploaded).value();
    } else {
      // Still announced (never dropped), with the local path: usable on this host only.
      spdlog::warn("job={} checkpoint upload failed, reporting the local path: {}", job->fence.job_id(),
                   uploaded.status().ToString());
      metrics["checkpoint"]["upload_error"] = uploaded.status().ToString();
    }
  }
  pb::ReportProgressRequest req;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (job->abandoned) return;
    *req.mutable_fence() = job->fence;
  }
  req.set_progress(std::clamp(p, 0.0, 1.0));
  req.set_message(msg);
  if (!metrics.is_null()) req.set_metrics_json(metrics.dump());
  pb::ReportProgressReply reply;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineIn(cfg_.rpc_timeout_ms));
  Status s = FromGrpc(stub_->ReportProgress(&ctx, req, &reply));
  std::lock_guard<std::mutex> l(mu_);
  if (s.ok() && reply.cancel() && !job->cancel_requested) {
    spdlog::info("cancel requested job={}", req.fence().job_id());
    job->cancel_requested = true;
    job->cancel->Cancel();
  } else if (IsStale(s.code())) {
    Abandon(req.fence().job_id(), "progress report rejected");
  }
  // Other errors are dropped: progress is advisory and the next report supersedes it.
}

template <typename SendFn>
void Agent::Impl::DeliverFinal(RunningJob* job, const char* what, SendFn send) {
  Backoff retry(cfg_.reconnect_initial_ms, cfg_.reconnect_max_ms);
  while (true) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (job->abandoned || give_up_reports_) return;
    }
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(true);  // deliver as soon as the coordinator is back
    ctx.set_deadline(DeadlineIn(cfg_.rpc_timeout_ms));
    Status s = send(&ctx);
    if (s.ok()) {
      spdlog::info("reported {} {}", what, FenceStr(job->fence));
      return;
    }
    if (IsStale(s.code())) {
      spdlog::warn("report {} {} rejected as stale: {}", what, FenceStr(job->fence), s.ToString());
      std::lock_guard<std::mutex> l(mu_);
      Abandon(job->fence.job_id(), "report rejected");
      return;
    }
    if (IsConnectionLoss(s.code())) MarkDisconnected(s);
    int64_t d = retry.NextDelayMs();
    spdlog::warn("report {} {} failed ({}); retrying in {} ms", what, FenceStr(job->fence),
                 s.ToString(), d);
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, std::chrono::milliseconds(d), [this, job] { return job->abandoned || give_up_reports_; });
  }
}

void Agent::Impl::RunJob(RunningJob* job, pb::LeasedJob leased) {
  const pb::Fence fence = leased.fence();
  const pb::Job& spec = leased.job();
  auto finish = [this, job] {
    std::lock_guard<std::mutex> l(mu_);
    job->done = true;
    cv_.notify_all();
  };
  std::string out_dir = cfg_.work_dir + "/jobs";
  for (const std::string& part : {spec.experiment_id(), spec.name()}) out_dir += "/" + SafePathPart(part);
  out_dir += fmt::format("/attempt-{}", fence.attempt());
  // Checkpoints of earlier attempts to resume from are linked here (transfer::MaterializeParams).
  const std::string resume_dir = out_dir + "-resume";
  std::error_code ec;
  std::filesystem::remove_all(out_dir, ec);  // a leftover of an earlier run of this attempt
  std::filesystem::remove_all(resume_dir, ec);

  DeliverFinal(job, "started", [&](grpc::ClientContext* ctx) {
    pb::ReportStartedRequest req;
    *req.mutable_fence() = fence;
    pb::ReportStartedReply reply;
    return FromGrpc(stub_->ReportStarted(ctx, req, &reply));
  });

  nlohmann::json params = nlohmann::json::parse(
      spec.params_json().empty() ? "{}" : spec.params_json(), nullptr, false);
  std::map<std::string, DependencyOutput> inputs;
  for (const auto& [dep, outs] : leased.inputs()) {
    DependencyOutput d;
    for (const pb::Artifact& a : outs.outputs()) d.outputs.push_back(FromProto(a));
    if (!outs.result_json().empty()) {
      d.result = nlohmann::json::parse(outs.result_json(), nullptr, false);
      if (d.result.is_discarded()) d.result = nlohmann::json::object();
    }
    inputs.emplace(dep, std::move(d));
  }
  auto cancelled = [job] { return job->cancel->cancelled(); };
  // Dependency outputs in the artifact store become local paths before the executor runs.
  Status inputs_ready = artifacts_ ? transfer::MaterializeInputs(*artifacts_, &inputs, cancelled) : Status::OK();
  // So do blob uris in the params (a fan-out child's checkpoint, a resumed job's resume_from).
  if (inputs_ready.ok() && !params.is_discarded()) {
    inputs_ready = transfer::MaterializeParams(artifacts_.get(), &params, resume_dir, cancelled);
  }
  Clock::time_point last_progress;
  JobContext ctx(fence.job_id(), spec.kind(), params.is_discarded() ? nlohmann::json::object() : params,
                 std::move(inputs), out_dir, cfg_.device, job->cancel,
                 [&](double p, const std::string& m, const nlohmann::json& metrics) {
                   ThrottledProgress(job, &last_progress, out_dir, p, m, metrics);
                 });
  Status run = MakeDirs(out_dir);
  if (run.ok()) run = inputs_ready;
  if (run.ok() && params.is_discarded()) {
    run = InvalidArgumentError("job {}: params_json is not valid JSON", fence.job_id());
  }
  if (run.ok()) {
    bool abandoned;
    {
      std::lock_guard<std::mutex> l(mu_);
      abandoned = job->abandoned;
    }
    if (abandoned) {
      run = CancelledError("abandoned before start");
    } else {
      auto executor = registry_->Create(spec.kind());
      if (!executor.ok()) {
        run = executor.status();
      } else {
        try {
          run = (*executor)->Run(ctx);
        } catch (const std::exception& e) {  // engine code must not throw; never crash the worker
          run = InternalError("executor '{}' threw: {}", spec.kind(), e.what());
        }
      }
    }
  }
  Status written = WriteResultFile(ctx, run);
  if (!written.ok()) spdlog::warn("job={} result.json: {}", fence.job_id(), written.ToString());
  std::vector<ArtifactRef> outputs = ctx.outputs();
  if (run.ok() && artifacts_) {
    // Outputs inside the job's directory are uploaded and reported by content address.
    auto uploaded = transfer::UploadOutputs(*artifacts_, outputs, out_dir, cancelled);
    if (uploaded.ok()) {
      outputs = std::move(uploaded).value();
    } else {
      run = uploaded.status();
    }
  }

  bool cancel_requested;
  {
    std::lock_guard<std::mutex> l(mu_);
    cancel_requested = job->cancel_requested;
    job->finishing = true;  // from here on a drain waits for the report instead of releasing
  }
  if (run.ok()) {
    spdlog::info("finished {} ok", FenceStr(fence));
    DeliverFinal(job, "complete", [&](grpc::ClientContext* c) {
      pb::ReportCompleteRequest req;
      *req.mutable_fence() = fence;
      for (const ArtifactRef& a : outputs) ToProto(a, req.add_outputs());
      req.set_result_json(ctx.result().dump());
      pb::ReportCompleteReply reply;
      return FromGrpc(stub_->ReportComplete(c, req, &reply));
    });
  } else {
    spdlog::info("finished {} status={} cancelled={}", FenceStr(fence), run.ToString(), cancel_requested);
    DeliverFinal(job, cancel_requested ? "cancelled" : "failed", [&](grpc::ClientContext* c) {
      pb::ReportFailedRequest req;
      *req.mutable_fence() = fence;
      req.set_error(run.ToString());
      req.set_permanent(!cancel_requested && IsPermanentFailure(run.code()));
      req.set_cancelled(cancel_requested);
      pb::ReportFailedReply reply;
      return FromGrpc(stub_->ReportFailed(c, req, &reply));
    });
  }
  finish();
}

void Agent::Impl::Release(const pb::Fence& fence, const std::string& reason) {
  pb::ReleaseJobRequest req;
  *req.mutable_fence() = fence;
  req.set_reason(reason);
  pb::ReleaseJobReply reply;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineIn(cfg_.rpc_timeout_ms));
  Status s = FromGrpc(stub_->ReleaseJob(&ctx, req, &reply));
  if (s.ok()) {
    spdlog::info("released {} reason=\"{}\"", FenceStr(fence), reason);
  } else {
    // The lease expires on its own; the coordinator re-runs the job then.
    spdlog::warn("release {} failed: {}", FenceStr(fence), s.ToString());
  }
}

void Agent::Impl::DrainAndRelease() {
  std::vector<pb::Fence> to_release;
  {
    std::unique_lock<std::mutex> l(mu_);
    spdlog::info("draining: {} job(s) running, grace {} ms", ActiveJobs(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(drain_deadline_ - Clock::now()).count());
    cv_.wait_until(l, drain_deadline_, [this] { return ActiveJobs() == 0; });
    give_up_reports_ = true;
    for (auto& [id, job] : jobs_) {
      if (job->done || job->abandoned || job->finishing) continue;
      to_release.push_back(job->fence);
      job->abandoned = true;
      job->cancel->Cancel();
    }
    cv_.notify_all();
  }
  for (const pb::Fence& f : to_release) Release(f, "worker draining");
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [id, job] : jobs_) threads.push_back(std::move(job->thread));
  }
  for (std::thread& t : threads) {
    if (t.joinable()) t.join();
  }
  std::lock_guard<std::mutex> l(mu_);
  jobs_.clear();
}

void Agent::Impl::ReapFinished() {
  std::vector<std::thread> done;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      if (it->second->done) {
        done.push_back(std::move(it->second->thread));
        it = jobs_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (std::thread& t : done) {
    if (t.joinable()) t.join();
  }
}

void Agent::Impl::Abandon(const std::string& job_id, const char* why) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || it->second->abandoned) return;
  spdlog::warn("abandoning {} ({})", FenceStr(it->second->fence), why);
  it->second->abandoned = true;
  it->second->cancel->Cancel();
  cv_.notify_all();
}

std::vector<pb::Fence> Agent::Impl::LiveFences() {
  std::vector<pb::Fence> out;
  for (const auto& [id, job] : jobs_) {
    if (!job->abandoned && !job->done) out.push_back(job->fence);
  }
  return out;
}

int Agent::Impl::ActiveJobs() {
  int n = 0;
  for (const auto& [id, job] : jobs_) n += job->done ? 0 : 1;
  return n;
}

bool Agent::Impl::SleepUnlessDraining(int64_t ms) {
  std::unique_lock<std::mutex> l(mu_);
  return !cv_.wait_for(l, std::chrono::milliseconds(ms), [this] { return drain_requested_; });
}

Agent::Agent(AgentConfig config, const ExecutorRegistry* registry)
    : impl_(std::make_unique<Impl>(std::move(config), registry)) {}
Agent::~Agent() = default;
Status Agent::Run() { return impl_->Run(); }
void Agent::RequestDrain() { impl_->RequestDrain(-1); }
void Agent::RequestStop() { impl_->RequestDrain(0); }

}  // namespace fc::agent
