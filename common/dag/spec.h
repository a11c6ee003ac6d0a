// The validated experiment DAG: plain structs, no YAML, no protobuf. Produced only by
// ParseExperiment (parser.h), so every ExperimentSpec is known to be valid: kinds registered,
// parameters type-checked with defaults filled in, references resolved, acyclic.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fc::dag {

// Job-level (non-parameter) fields a job or `defaults` may set.
inline constexpr const char* kReservedJobFields[] = {"kind",   "after",      "retries", "priority",
                                                      "gpus",   "gpu_memory", "labels",  "cache"};

struct JobSpec {
  std::string name;
  std::string kind;
  nlohmann::json params = nlohmann::json::object();  // validated, defaults filled in
  std::vector<std::string> after;                     // explicit `after:` list, sorted
  std::vector<std::string> depends_on;                // after + referenced jobs, sorted, unique
  // Referenced outputs: param name -> "job" or "job.output" (list params: "param[i]").
  std::map<std::string, std::string> refs;
  int32_t retries = 2;
  int32_t priority = 0;       // larger runs first
  int32_t gpus = 0;
  int64_t gpu_memory_mb = 0;  // per GPU
  std::map<std::string, std::string> labels;  // a worker must carry all of them
  bool cache = true;
  int line = 0;  // 1-based line of the job's key in the source (0 = unknown)
};

struct ExperimentSpec {
  std::string name;
  std::vector<JobSpec> jobs;  // topological order; ties in declaration order

  const JobSpec* Find(const std::string& job) const;
};

// Canonical JSON of a validated spec: sorted keys, every default filled in, no line numbers.
// Two specs that mean the same thing (YAML vs JSON, key order, defaults spelled out or not)
// have the same canonical JSON.
nlohmann::json ToCanonicalJson(const ExperimentSpec& spec);
std::string CanonicalJsonString(const ExperimentSpec& spec);
// sha256 hex of CanonicalJsonString: the idempotency key when the client gives none.
std::string SpecHash(const ExperimentSpec& spec);

}  // namespace fc::dag
