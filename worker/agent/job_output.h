// result.json: the record a job leaves in its output directory, written the same way by the
// agent and by `fc-worker run`, so a local run and a leased run are comparable:
//   {"job": id, "kind": k, "params": {...}, "status": "OK" | "<CODE>", "error": "...",
//    "result": {...}, "outputs": [{"name","kind","uri","size","sha256"}, ...]}
// Written to a temporary file and renamed, so a reader never sees half a file.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "worker/agent/executor.h"

namespace fc::agent {

nlohmann::json ArtifactToJson(const ArtifactRef& a);
nlohmann::json ResultRecord(const JobContext& ctx, const Status& run_status);
// Writes ResultRecord to <ctx.output_dir()>/result.json.
Status WriteResultFile(const JobContext& ctx, const Status& run_status);
// Creates dir (and parents); INTERNAL naming the path on failure.
Status MakeDirs(const std::string& dir);

}  // namespace fc::agent
