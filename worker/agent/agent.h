// Agent: the worker's side of the fc.v1 WorkerService protocol.
//
//   Run():  register (resources, kinds, fences still running) -> loop { AcquireJob long-poll
//           for free slots -> one thread per leased job } until drained.
//   heartbeat thread: every heartbeat_interval_ms (from RegisterWorkerReply) sends the running
//           fences; the reply cancels jobs (their CancelToken is set: the executor stops within
//           its poll period, so within one heartbeat), marks leases stale (abandoned: the job is
//           cancelled and nothing more is reported for it) and toggles coordinator-side drain
//           (take no new work while set).
//   job thread: ReportStarted -> inputs and blob-uri params materialised -> Executor::Run
//           (progress throttled to ReportProgress; a checkpoint announcement is never throttled
//           and its folder is uploaded first, path = blob uri: worker/transfer/job_artifacts.h)
//           -> result.json -> outputs uploaded -> ReportComplete / ReportFailed, retried with backoff until the
//           coordinator answers; a FAILED_PRECONDITION/NOT_FOUND answer means the fence is stale
//           and the report is dropped.
//   coordinator gone: any UNAVAILABLE/DEADLINE_EXCEEDED marks the agent unregistered; Run
//           re-registers with exponential backoff, presenting the fences it still runs (those
//           the reply rejects are abandoned). Jobs keep running meanwhile.
//   drain (RequestDrain, e.g. SIGTERM): take no new work; wait up to drain_grace_ms for running
//           jobs to finish and report; then cancel the rest and hand them back (ReleaseJob).
//           Run returns OK. RequestStop = drain with no grace.
//
// Every RPC carries a deadline (rpc_timeout_ms; AcquireJob adds its long-poll time).
// Thread-safety: RequestDrain/RequestStop may be called from any thread; Run from one.
#pragma once

#include <memory>

#include "common/status.h"
#include "worker/agent/agent_config.h"
#include "worker/agent/executor_registry.h"

namespace fc::agent {

class Agent {
 public:
  // registry must outlive the agent.
  Agent(AgentConfig config, const ExecutorRegistry* registry);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Blocks until drained; then OK. INVALID_ARGUMENT for a bad config (no name, slots < 1); the
  // coordinator's error when it refuses the registration for good (INVALID_ARGUMENT,
  // PERMISSION_DENIED, UNAUTHENTICATED). Unreachable coordinators are retried forever.
  Status Run();
  void RequestDrain();
  void RequestStop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fc::agent
