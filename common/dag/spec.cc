#include "common/dag/spec.h"

#include "common/dag/sha256.h"

namespace fc::dag {

nlohmann::json ToCanonicalJson(const ExperimentSpec& spec) {
  nlohmann::json jobs = nlohmann::json::object();
  for (const JobSpec& j : spec.jobs) {
    jobs[j.name] = {{"kind", j.kind},
                    {"params", j.params},
                    {"after", j.after},
                    {"retries", j.retries},
                    {"priority", j.priority},
                    {"gpus", j.gpus},
                    {"gpu_memory_mb", j.gpu_memory_mb},
                    {"labels", j.labels},
                    {"cache", j.cache}};
  }
  return {{"experiment", spec.name}, {"jobs", std::move(jobs)}};
}

std::string CanonicalJsonString(const ExperimentSpec& spec) {
  return ToCanonicalJson(spec).dump();
}

std::string SpecHash(const ExperimentSpec& spec) { return Sha256Hex(CanonicalJsonString(spec)); }

}  // namespace fc::dag
