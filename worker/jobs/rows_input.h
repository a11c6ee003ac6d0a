// Task rows as job inputs: a rows file (.jsonl/.json/.csv) or a dataset folder (ft.jsonl /
// circuit.jsonl), plus the dataset's generation metadata (dataset.json written by the
// `dataset` kind; in coordinator runs the dataset job's result carries the same fields).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "worker/agent/executor.h"
#include "worker/data/task_row.h"
#include "worker/jobs/job_params.h"

namespace fc::jobs {

inline constexpr char kDatasetMetaFile[] = "dataset.json";

// `folder_file`: which split a dataset folder stands for ("ft.jsonl" or "circuit.jsonl").
// Empty rows are INVALID_ARGUMENT naming the param; read errors name file and line.
StatusOr<std::vector<data::TaskRow>> ReadRowsInput(const JobParams& params, const std::string& param,
                                                   const std::string& path, const std::string& folder_file);

// The generating dataset's metadata ({"task", "max_operand", "seed", ...}) when known.
std::optional<nlohmann::json> DatasetMeta(const agent::JobContext& ctx, const JobParams& params,
                                          const std::string& param, const std::string& path);

}  // namespace fc::jobs
