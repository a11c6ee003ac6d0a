// The model shape behind a circuit input: summary.json of a circuit folder carries it
// ({"model": {"arch", "n_layers", "d_model", "d_mlp", ...}}); a bare circuit file needs the
// job's `model` param (an HF folder whose config.json is read). Errors name `param`.
#pragma once

#include <string>

#include "common/circuit/lora_modules.h"
#include "common/status.h"
#include "worker/agent/executor.h"
#include "worker/jobs/job_params.h"

namespace fc::jobs {

StatusOr<circuit::ModelShape> CircuitModelShape(const agent::JobContext& ctx, const JobParams& params,
                                                const std::string& param, const std::string& circuit_path);

}  // namespace fc::jobs
