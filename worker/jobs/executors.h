// One executor per science job kind (architecture.md section 5). Each lives in its own
// <kind>_executor.cc; RegisterEngineExecutors (register.cc) registers them all. Every executor
// resolves its params through JobParams (schema of common/dag, defaults filled in), reads its
// inputs through job_io.h (dependency outputs or local paths), writes under ctx.output_dir(),
// reports progress, polls ctx.cancelled() between steps/batches, and returns
// INVALID_ARGUMENT naming the param for bad input. docs/jobs.md lists params and outputs.
#pragma once

#include <memory>

#include "worker/agent/executor.h"

namespace fc::jobs {

std::unique_ptr<agent::Executor> MakeDatasetExecutor();
std::unique_ptr<agent::Executor> MakeTrainBaseExecutor();
std::unique_ptr<agent::Executor> MakeModelExecutor();
std::unique_ptr<agent::Executor> MakeDiscoverExecutor();
std::unique_ptr<agent::Executor> MakeFinetuneExecutor();
std::unique_ptr<agent::Executor> MakeReextractExecutor();
std::unique_ptr<agent::Executor> MakeCircuitLoraPlanExecutor();
std::unique_ptr<agent::Executor> MakeMergeExecutor();
std::unique_ptr<agent::Executor> MakeRobustnessExecutor();
std::unique_ptr<agent::Executor> MakeEvaluateExecutor();

}  // namespace fc::jobs
