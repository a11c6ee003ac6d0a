// Inputs, outputs and small file helpers shared by the executors (no LibTorch).
//
// How a job finds its inputs (docs/jobs.md, "Inputs"): a reference param's value is either
//   * "job" or "job.output" naming a dependency in ctx.inputs() (coordinator runs): the path is
//     that output's uri (the agent has materialised it locally before Run), or
//   * a local path (fc-worker run: --param model=/path/to/hf_folder): used as it is.
// The dependency form wins when both could apply. Anything else is INVALID_ARGUMENT naming the
// param.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "worker/agent/executor.h"
#include "worker/jobs/job_params.h"

namespace fc::jobs {

// The local path of `value` (a reference param's value or a list item). `want_output` forces a
// named output of the dependency (e.g. "checkpoints" of a finetune job whatever the reference
// says); empty = the output the reference names, else the dependency's first (default) output.
StatusOr<std::string> ResolveInputValue(const agent::JobContext& ctx, const JobParams& params,
                                        const std::string& param, const std::string& value,
                                        const std::string& want_output = "");
StatusOr<std::string> ResolveInput(const agent::JobContext& ctx, const JobParams& params,
                                   const std::string& param, const std::string& want_output = "");

// The dependency's result JSON when `param` references a dependency; nullopt for a local path.
std::optional<nlohmann::json> DependencyResult(const agent::JobContext& ctx, const JobParams& params,
                                               const std::string& param);

// "auto" -> the worker's device; "cuda" -> "cuda:0". INVALID_ARGUMENT naming 'device' when CUDA
// is asked for but absent is checked by the LibTorch side (torch_util.h).
std::string ResolveDeviceName(const agent::JobContext& ctx, const JobParams& params);

bool IsDir(const std::string& path);
bool IsFile(const std::string& path);
Status MakeDir(const std::string& path);
// Mirrors `src` (a file or a folder, recursively) at `dst` with hard links, copying where a link
// is impossible (another file system). Read-only use of the source.
Status LinkOrCopyTree(const std::string& src, const std::string& dst);
StatusOr<nlohmann::json> ReadJsonFile(const std::string& path);
Status WriteJsonFile(const std::string& path, const nlohmann::json& j);

// ctx.AddOutput with uri = path and size = bytes under it.
void AddPathOutput(agent::JobContext& ctx, const std::string& name, const std::string& kind,
                   const std::string& path);

// Throws nothing; measures wall time since construction.
class Stopwatch {
 public:
  Stopwatch();
  double Seconds() const;

 private:
  int64_t start_ns_;
};

}  // namespace fc::jobs
