#include "coordinator/scheduler/job_fsm.h"

namespace fc::coord {

const char* JobEventName(JobEvent e) {
  switch (e) {
    case JobEvent::kDepsSucceeded: return "DepsSucceeded";
    case JobEvent::kDepFailed: return "DepFailed";
    case JobEvent::kLease: return "Lease";
    case JobEvent::kStart: return "Start";
    case JobEvent::kProgress: return "Progress";
    case JobEvent::kComplete: return "Complete";
    case JobEvent::kFailRetry: return "FailRetry";
    case JobEvent::kFailFinal: return "FailFinal";
    case JobEvent::kLeaseExpired: return "LeaseExpired";
    case JobEvent::kRelease: return "Release";
    case JobEvent::kCancel: return "Cancel";
    case JobEvent::kRetry: return "Retry";
  }
  return "?";
}

StatusOr<JobState> NextState(JobState from, JobEvent ev) {
  using S = JobState;
  using E = JobEvent;
  const bool held = from == S::kLeased || from == S::kRunning;
  switch (ev) {
    case E::kDepsSucceeded:
      if (from == S::kPending) return S::kReady;
      break;
    case E::kDepFailed:
      if (from == S::kPending) return S::kCancelled;
      break;
    case E::kLease:
      if (from == S::kReady) return S::kLeased;
      break;
    case E::kStart:
    case E::kProgress:
      if (held) return S::kRunning;
      break;
    case E::kComplete:
      if (held) return S::kSucceeded;
      break;
    case E::kFailRetry:
    case E::kLeaseExpired:
    case E::kRelease:
      if (held) return S::kReady;
      break;
    case E::kFailFinal:
      if (held) return S::kFailed;
      break;
    case E::kCancel:
      if (!IsTerminal(from) && from != S::kUnspecified) return S::kCancelled;
      break;
    case E::kRetry:
      if (from == S::kFailed || from == S::kCancelled) return S::kPending;
      break;
  }
  return FailedPreconditionError("illegal transition: {} in state {}", JobEventName(ev), JobStateName(from));
}

Status CheckFence(const std::string& job_id, JobState state, int32_t attempt, int64_t lease_epoch,
                  const Fence& p) {
  if (p.attempt != attempt) {
    return FailedPreconditionError("stale attempt {} (current {}) for job {}", p.attempt, attempt, job_id);
  }
  if (p.lease_epoch != lease_epoch) {
    return FailedPreconditionError("stale lease epoch {} (current {}) for job {}", p.lease_epoch,
                                   lease_epoch, job_id);
  }
  if (state != JobState::kLeased && state != JobState::kRunning) {
    return FailedPreconditionError("stale attempt {} for job {}: job is {}", p.attempt, job_id,
                                   JobStateName(state));
  }
  return Status::OK();
}

}  // namespace fc::coord
