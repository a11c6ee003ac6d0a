// Executor: runs one job of one kind. The agent (worker/agent/agent.h) and the local runner
// (worker/agent/local_run.h) build a JobContext and call Run on a thread of their own; the
// executor polls ctx.cancelled() at least every few hundred milliseconds and returns promptly
// (CancelledError) when it is set. Run's Status decides the report: OK -> complete with the
// outputs and result the executor added; INVALID_ARGUMENT / UNIMPLEMENTED -> permanent failure
// (not retried); any other code -> a failure the coordinator may retry.
//
// Executors never see protobuf types: this header is plain C++ so the LibTorch engine
// (worker/jobs/) builds against it without gRPC.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace fc::agent {

// One output of a job: a file or folder under the job's output dir (uri = its path).
struct ArtifactRef {
  std::string name;    // output name within the job ("model", "ft", ...)
  std::string sha256;  // content address (hex); empty for a plain path output
  int64_t size = 0;
  std::string kind;    // dataset | model | adapter | checkpoint | circuit | report | file
  std::string uri;
};

// What a finished dependency produced.
struct DependencyOutput {
  std::vector<ArtifactRef> outputs;
  nlohmann::json result = nlohmann::json::object();
};

// Set once, read from any thread. Shared between the agent (heartbeat thread sets it) and the
// executor (polls it).
class CancelToken {
 public:
  void Cancel() { cancelled_.store(true, std::memory_order_release); }
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> cancelled_{false};
};

// Everything a job sees. Built by the agent or the local runner; the executor reads params and
// inputs and writes outputs and result. Not thread-safe: only the executor's thread uses it
// (the callbacks it calls are thread-safe).
class JobContext {
 public:
  // progress in [0, 1]; metrics is a JSON object or null.
  using ProgressFn =
      std::function<void(double progress, const std::string& message, const nlohmann::json& metrics)>;

  JobContext(std::string job_id, std::string kind, nlohmann::json params,
             std::map<std::string, DependencyOutput> inputs, std::string output_dir,
             std::string device, std::shared_ptr<const CancelToken> cancel, ProgressFn progress)
      : job_id_(std::move(job_id)), kind_(std::move(kind)), params_(std::move(params)),
        inputs_(std::move(inputs)), output_dir_(std::move(output_dir)), device_(std::move(device)),
        cancel_(std::move(cancel)), progress_(std::move(progress)) {}

  const std::string& job_id() const { return job_id_; }
  const std::string& kind() const { return kind_; }
  const nlohmann::json& params() const { return params_; }
  // Dependency name -> what it produced.
  const std::map<std::string, DependencyOutput>& inputs() const { return inputs_; }
  // An existing, empty-at-start directory owned by this attempt.
  const std::string& output_dir() const { return output_dir_; }
  const std::string& device() const { return device_; }  // "cpu" | "cuda:N"

  bool cancelled() const { return cancel_ && cancel_->cancelled(); }
  void ReportProgress(double progress, const std::string& message,
                      const nlohmann::json& metrics = nullptr) const {
    if (progress_) progress_(progress, message, metrics);
  }

  void AddOutput(ArtifactRef artifact) { outputs_.push_back(std::move(artifact)); }
  void SetResult(nlohmann::json result) { result_ = std::move(result); }
  const std::vector<ArtifactRef>& outputs() const { return outputs_; }
  const nlohmann::json& result() const { return result_; }

 private:
  std::string job_id_;
  std::string kind_;
  nlohmann::json params_;
  std::map<std::string, DependencyOutput> inputs_;
  std::string output_dir_;
  std::string device_;
  std::shared_ptr<const CancelToken> cancel_;
  ProgressFn progress_;
  std::vector<ArtifactRef> outputs_;
  nlohmann::json result_ = nlohmann::json::object();
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual Status Run(JobContext& ctx) = 0;
};

// True when a failure with this code must not be retried (bad parameters, unknown kind).
inline bool IsPermanentFailure(StatusCode code) {
  return code == StatusCode::kInvalidArgument || code == StatusCode::kUnimplemented;
}

}  // namespace fc::agent
