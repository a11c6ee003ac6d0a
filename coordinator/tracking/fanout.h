// Pure helpers of the coordinator's stage-wise tracking (docs/tracking.md), no I/O:
// * parsing a finetune job's progress metrics into checkpoint and metric rows;
// * the re-extraction fan-out: a `reextract` job {finetune: X, like: D} gets one child discover
//   job "<reextract>@<step>" per checkpoint of X, with D's parameters, model = X's base model
//   (or the reextract's `model`), data = the reextract's `data` (or D's), checkpoint = the
//   checkpoint; step 0 (include_base) is the base model itself (no checkpoint param);
// * the circuit summary row of a finished discover job.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "coordinator/core/types.h"
#include "coordinator/tracking/rows.h"

namespace fc::coord::tracking {

inline constexpr char kReextractKind[] = "reextract";
inline constexpr char kFinetuneKind[] = "finetune";
inline constexpr char kDiscoverKind[] = "discover";

// {"checkpoint": {...}} of a finetune progress report, or nullopt when absent. INVALID_ARGUMENT
// naming the field when present but malformed (no integer step >= 0 or no path).
StatusOr<std::optional<CheckpointRow>> ParseCheckpointReport(const nlohmann::json& metrics,
                                                             const JobRow& job, int64_t now_ms);
// Numeric fields of a progress report that carries an integer "step": one row per field
// (except step/steps), e.g. loss. Empty otherwise.
std::vector<MetricRow> ParseStepMetrics(const nlohmann::json& metrics, const std::string& job_id);

std::string ChildName(const std::string& reextract_name, int64_t step);
// The step of `job_name` when it is a child of `reextract_name`, else nullopt.
std::optional<int64_t> ChildStep(const std::string& reextract_name, const std::string& job_name);
inline std::string CheckpointName(int64_t step) { return "checkpoint-" + std::to_string(step); }

// The job name a reference value points at ("data.circuit" -> "data").
std::string RefJob(const nlohmann::json& value);

struct ChildSpec {
  std::string name;
  nlohmann::json params;
  std::vector<std::string> depends_on;  // job names of the same experiment
};
// `checkpoint_path` empty = the base model (step 0). `is_job(name)` says whether a reference
// names a job of the experiment (those become dependencies, anything else is a literal path).
StatusOr<ChildSpec> BuildChild(const JobRow& reextract, const JobRow& like, const JobRow& finetune, int64_t step,
                               const std::string& checkpoint_path,
                               const std::function<bool(const std::string&)>& is_job);

// The summary row of a successful discover job (its result JSON); step/checkpoint for children.
CircuitRow CircuitFromResult(const JobRow& job, int64_t step, const std::string& checkpoint, int64_t now_ms);

}  // namespace fc::coord::tracking
