// The job kinds every worker runs without the engine, used by smoke DAGs and fault tests:
//   sleep  {seconds: number >= 0 (default 1)}: sleeps, reporting progress, honouring cancel;
//          result {"slept_seconds": s}.
//   fail   {message: string, after_seconds: number >= 0 (default 0), permanent: bool (false)}:
//          waits after_seconds (cancellable) then fails with message; permanent -> the failure
//          is INVALID_ARGUMENT (never retried), else UNKNOWN (retried by the coordinator).
#pragma once

#include "common/status.h"
#include "worker/agent/executor_registry.h"

namespace fc::agent {

Status RegisterBuiltinExecutors(ExecutorRegistry* registry);

}  // namespace fc::agent
