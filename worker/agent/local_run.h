// `fc-worker run KIND --param k=v --out DIR`: one job of any registered kind, in this process,
// with no coordinator. Progress goes to the log; SIGINT/SIGTERM set the cancel token (the
// caller wires that). Writes DIR/result.json (job_output.h) whatever the outcome.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "worker/agent/executor.h"
#include "worker/agent/executor_registry.h"

namespace fc::agent {

struct LocalRunOptions {
  std::string kind;
  nlohmann::json params = nlohmann::json::object();
  std::string out_dir;
  std::string device = "cpu";
  std::shared_ptr<const CancelToken> cancel;  // may be null
  JobContext::ProgressFn progress;            // may be null
};

// Returns the executor's Status (after result.json was written); a failure to write
// result.json replaces an OK status.
Status RunLocal(const ExecutorRegistry& registry, const LocalRunOptions& opts);

}  // namespace fc::agent
