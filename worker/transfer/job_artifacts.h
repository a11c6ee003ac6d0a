// The agent's use of the artifact store around one job (worker/agent/agent.cc):
//   before Run: every dependency output whose uri is a blob uri (artifact_uri.h) is
//     materialised in the cache and its uri replaced by the local path, so executors only ever
//     see local paths;
//   after Run: every output whose uri is a local path inside the job's output dir is uploaded
//     and reported with its sha256, size and blob uri. Other outputs (paths elsewhere, e.g. on a
//     shared file system) are reported as they are;
//   during Run: a progress report announcing a checkpoint ({"checkpoint": {"path": <folder
//     inside the job's output dir>, ...}}) is uploaded first and forwarded with path = its blob
//     uri (local_path = the folder), so fan-out children and a resumed attempt on another host
//     can fetch it;
//   job params: every top-level string param that is a blob uri (a fan-out child's
//     `checkpoint`, a re-leased finetune job's `resume_from`) is materialised too, and the
//     coordinator's `resume_checkpoints` {"<step>": uri} is turned into one local folder of
//     `checkpoint-<step>` links, resume_from pointing at the newest inside it (finetune links the
//     siblings of resume_from into its own checkpoints/).
// Executors never see this: executor.h stays free of transfer types.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "worker/agent/executor.h"
#include "worker/transfer/artifact_client.h"

namespace fc::transfer {

// Stops at the first failure (DATA_LOSS, NOT_FOUND, UNAVAILABLE...: the job fails and the
// coordinator retries it; INVALID_ARGUMENT for a malformed uri or manifest).
Status MaterializeInputs(ArtifactClient& client, std::map<std::string, agent::DependencyOutput>* inputs,
                         const CancelFn& cancelled);

// Returns the outputs to report. UNIMPLEMENTED (no artifact service at the coordinator) is not
// an error: the outputs are reported as plain paths, as in a local run.
StatusOr<std::vector<agent::ArtifactRef>> UploadOutputs(ArtifactClient& client,
                                                        const std::vector<agent::ArtifactRef>& outputs,
                                                        const std::string& output_dir, const CancelFn& cancelled);

// The coordinator's param naming a finetune attempt's earlier checkpoints (consumed here: the
// executor never sees it).
inline constexpr char kResumeCheckpointsParam[] = "resume_checkpoints";
inline constexpr char kResumeFromParam[] = "resume_from";

// Progress metrics of a job whose output dir is output_dir. Returns them unchanged unless they
// carry "checkpoint" with a string "path" inside output_dir (absolute or relative to it); then
// the folder is uploaded and the returned copy has checkpoint.path = "blob:<sha>" and
// checkpoint.local_path = the folder's absolute path. UNIMPLEMENTED (no artifact service) ->
// unchanged. Any other upload error is returned (the caller still forwards the original: a
// checkpoint announcement is never dropped).
StatusOr<nlohmann::json> UploadCheckpointReport(ArtifactClient& client, const nlohmann::json& metrics,
                                                const std::string& output_dir, const CancelFn& cancelled);

// Rewrites *params (a JSON object) so the executor sees local paths only:
// * resume_checkpoints (an object {"<step>": uri or path}) is removed; when resume_from is a
//   blob uri, every entry with step <= resume_from's step is materialised and linked as
//   resume_dir/checkpoint-<step> (resume_dir is emptied first), and resume_from becomes the link
//   of its own step (the entry with the same uri, else the "step" of its checkpoint.json).
//   Plain paths that do not exist here are skipped (they were reported by another host and
//   never uploaded); a plain resume_from is left as it is (plain-path mode) unless it does not
//   exist here and some entry is a blob uri: then the newest such entry is resumed from.
// * every other top-level string param that is a blob uri -> its local cache path.
// client may be null (no artifact store): a blob uri is then FAILED_PRECONDITION. A corrupt blob
// is DATA_LOSS (never used), malformed resume_checkpoints INVALID_ARGUMENT naming the field.
Status MaterializeParams(ArtifactClient* client, nlohmann::json* params, const std::string& resume_dir,
                         const CancelFn& cancelled);

}  // namespace fc::transfer
