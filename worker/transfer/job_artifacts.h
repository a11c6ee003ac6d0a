// The agent's use of the artifact store around one job (worker/agent/agent.cc):
//   before Run: every dependency output whose uri is a blob uri (artifact_uri.h) is
//     materialised in the cache and its uri replaced by the local path, so executors only ever
//     see local paths;
//   after Run: every output whose uri is a local path inside the job's output dir is uploaded
//     and reported with its sha256, size and blob uri. Other outputs (paths elsewhere, e.g. on a
//     shared file system) are reported as they are.
// Executors never see this: executor.h stays free of transfer types.
#pragma once

#include <map>
#include <string>
#include <vector>

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

}  // namespace fc::transfer
