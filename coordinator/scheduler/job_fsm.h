// The job state machine: every state change of a job goes through NextState, a pure
// (from, event) -> to table with no I/O, clock or locks.
//
//            DepsSucceeded        Lease             Start/Progress        Complete
//   PENDING --------------> READY -------> LEASED ----------------> RUNNING ---------> SUCCEEDED
//     |  ^                   ^  |            |  |                     |  |
//     |  |                   |  +-Cancel-+   |  +---- Complete -------|--|--------> SUCCEEDED
//     |  |                   |           |   |                        |  |
//     |  |                   +-- FailRetry / LeaseExpired / Release --+--+  (LEASED or RUNNING;
//     |  |                                                               attempt+1 except Release)
//     |  +-- Retry (operator) -- FAILED, CANCELLED        FailFinal: LEASED/RUNNING -> FAILED
//     +-- DepFailed / Cancel --> CANCELLED                Cancel: any non-terminal -> CANCELLED
//
// Dependency rule: a job becomes READY when all of its dependencies SUCCEEDED; when a dependency
// ends FAILED or CANCELLED, every PENDING job downstream of it is CANCELLED ("dependency 'x'
// failed") and an operator RetryJob of x revives them.
// Fencing: a worker report must present the job's current (attempt, lease_epoch) while the job
// is LEASED or RUNNING; anything else is FAILED_PRECONDITION and changes nothing.
#pragma once

#include <string>

#include "common/status.h"
#include "coordinator/core/types.h"

namespace fc::coord {

enum class JobEvent : int {
  kDepsSucceeded,
  kDepFailed,
  kLease,
  kStart,
  kProgress,
  kComplete,
  kFailRetry,     // retryable failure with attempts left: back to READY after backoff
  kFailFinal,     // permanent failure or retries exhausted
  kLeaseExpired,  // no heartbeat within the TTL: back to READY at once
  kRelease,       // the worker hands the job back (drain): READY, same attempt
  kCancel,
  kRetry,         // operator retry of a FAILED or CANCELLED job
};
inline constexpr int kNumJobEvents = 12;
const char* JobEventName(JobEvent e);

// The state after `event` in `from`, or FAILED_PRECONDITION "illegal transition ...".
StatusOr<JobState> NextState(JobState from, JobEvent event);

// OK when `presented` is the fence of the job's current lease; otherwise
// FAILED_PRECONDITION "stale attempt 3 (current 4) for job <id>" (or the lease-epoch / state
// variant).
Status CheckFence(const std::string& job_id, JobState state, int32_t attempt, int64_t lease_epoch,
                  const Fence& presented);

}  // namespace fc::coord
