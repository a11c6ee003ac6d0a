// The seam between the agent and the LibTorch engine. fc-worker's main.cc calls this under
// #ifdef FC_HAVE_ENGINE; worker/jobs/ (target fc_jobs) defines it and adds
//   target_link_libraries(fc-worker PRIVATE fc_jobs)
//   target_compile_definitions(fc-worker PRIVATE FC_HAVE_ENGINE)
// Without the engine, fc-worker runs the built-in kinds only (sleep, fail).
#pragma once

#include "common/status.h"
#include "worker/agent/executor_registry.h"

namespace fc::jobs {

// Registers every engine job kind (dataset, train_base, discover, finetune, ...) into registry.
// Returns the first registration error (e.g. a kind registered twice).
Status RegisterEngineExecutors(fc::agent::ExecutorRegistry* registry);

}  // namespace fc::jobs
