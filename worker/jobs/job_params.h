// JobParams: a job's parameters checked against its kind's schema in common/dag (the same
// schema the coordinator validates at submission) and completed with the schema's defaults.
//
// The coordinator already sends validated, default-filled params; `fc-worker run` sends raw
// --param values, so every executor resolves through here and both paths see identical params.
// Every error is INVALID_ARGUMENT naming the kind and the param, e.g.
//   job kind 'discover' param 'ig_steps': must be in [1, 1000], got 0
// which the agent reports as a permanent (not retried) failure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace fc::jobs {

class JobParams {
 public:
  // `extra`: params outside the schema this executor also accepts (e.g. finetune's
  // resume_from, which the coordinator adds when it restarts a run). Their types are checked by
  // the typed getters below.
  static StatusOr<JobParams> Resolve(const std::string& kind, const nlohmann::json& params,
                                     const std::vector<std::string>& extra = {});

  const std::string& kind() const { return kind_; }
  const nlohmann::json& json() const { return params_; }
  bool Has(const std::string& name) const { return params_.contains(name) && !params_.at(name).is_null(); }

  // Typed reads. Schema params are already type-checked; these still return an error naming
  // the param for a wrong type (extra params) or a missing value without default.
  StatusOr<int64_t> Int(const std::string& name) const;
  StatusOr<double> Float(const std::string& name) const;
  StatusOr<std::string> Str(const std::string& name) const;
  StatusOr<bool> Bool(const std::string& name) const;
  // Optional string: "" when absent.
  StatusOr<std::string> OptStr(const std::string& name) const;

  // INVALID_ARGUMENT "job kind '<kind>' param '<name>': <message>".
  Status Invalid(const std::string& name, const std::string& message) const;

 private:
  JobParams(std::string kind, nlohmann::json params) : kind_(std::move(kind)), params_(std::move(params)) {}
  std::string kind_;
  nlohmann::json params_;
};

}  // namespace fc::jobs
