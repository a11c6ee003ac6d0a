// Parses and validates an experiment DAG written in YAML or JSON (architecture.md section 6):
//
//   experiment: addsub100
//   defaults: {retries: 2, priority: 5, device: auto}
//   jobs:
//     data: {kind: dataset, task: add_sub, size: 5000}
//     base: {kind: train_base, data: data.ft, after: [data]}
//
// Nothing is accepted half-valid. Every problem is reported (all of them, one per line) as
// INVALID_ARGUMENT naming job, field and 1-based source line, e.g.
//   job 'lora' field 'rank' (line 7): must be in [1, 4096], got 0
// Rejected: malformed YAML, unknown kinds, unknown fields, wrong types, out-of-range and
// non-enum values, missing required params, dangling references (or outputs the target kind
// does not have, or targets of the wrong kind), cycles (naming the cycle), duplicate job names,
// unsatisfiable resources (gpus outside [0, 64], negative gpu memory).
//
// Dependencies are the union of `after:` and every reference parameter ("job" or "job.output").
// Defaults: reserved fields apply to every job; other keys apply to jobs whose kind has that
// parameter, and a defaults key no registered kind uses is an error.
#pragma once

#include <string>
#include <string_view>

#include "common/dag/kind_registry.h"
#include "common/dag/spec.h"
#include "common/status.h"

namespace fc::dag {

// Upper bounds, so that one submission cannot exhaust the coordinator.
inline constexpr int kMaxJobs = 100000;
inline constexpr int kMaxGpusPerJob = 64;
inline constexpr int kMaxRetries = 100;
inline constexpr int kMaxPriority = 1000000;

// `source_name` (a file name, may be empty) prefixes every message.
StatusOr<ExperimentSpec> ParseExperiment(std::string_view text, std::string_view source_name = "",
                                         const KindRegistry& registry = KindRegistry::Default());

}  // namespace fc::dag
