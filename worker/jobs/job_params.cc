#include "worker/jobs/job_params.h"

#include <cmath>

#include "common/dag/kind_registry.h"

namespace fc::jobs {

using nlohmann::json;

namespace {

using dag::ParamType;

bool IsIntegral(const json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return true;
  if (!v.is_number_float()) return false;
  double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

// "" when `v` has `type`; else what it must be.
std::string TypeProblem(const json& v, ParamType type) {
  switch (type) {
    case ParamType::kInt:
      return IsIntegral(v) ? "" : "an integer";
    case ParamType::kFloat:
      return v.is_number() ? "" : "a number";
    case ParamType::kString:
    case ParamType::kRef:
      return v.is_string() ? "" : "a string";
    case ParamType::kBool:
      return v.is_boolean() ? "" : "true or false";
    case ParamType::kList:
      return v.is_array() ? "" : "a list";
    case ParamType::kMap:
      return v.is_object() ? "" : "a map";
  }
  return "";
}

std::string Bound(double x) { return fmt::format("{:g}", x); }

}  // namespace

Status JobParams::Invalid(const std::string& name, const std::string& message) const {
  return InvalidArgumentError("job kind '{}' param '{}': {}", kind_, name, message);
}

StatusOr<JobParams> JobParams::Resolve(const std::string& kind, const nlohmann::json& params,
                                       const std::vector<std::string>& extra) {
  const dag::KindSchema* schema = dag::KindRegistry::Default().Find(kind);
  if (schema == nullptr) return UnimplementedError("job kind '{}' has no parameter schema", kind);
  if (!params.is_object()) return InvalidArgumentError("job kind '{}': params must be an object", kind);
  JobParams out(kind, params);
  nlohmann::json& p = out.params_;
  for (auto it = p.begin(); it != p.end(); ++it) {
    bool known = schema->FindParam(it.key()) != nullptr;
    for (const auto& e : extra) known = known || e == it.key();
    if (!known) {
      std::string names;
      for (const auto& s : schema->params) names += (names.empty() ? "" : ", ") + s.name;
      for (const auto& e : extra) names += ", " + e;
      return out.Invalid(it.key(), fmt::format("unknown parameter (known: {})", names));
    }
  }
  for (const dag::ParamSpec& spec : schema->params) {
    if (!p.contains(spec.name) || p.at(spec.name).is_null()) {
      if (spec.required) return out.Invalid(spec.name, "is required");
      if (!spec.default_value.is_null()) p[spec.name] = spec.default_value;
      continue;
    }
    nlohmann::json& v = p[spec.name];
    // `fc-worker run --param top=200` parses 200 as a number; a string param takes its text.
    if (spec.type == ParamType::kString && v.is_number()) v = v.dump();
    std::string want = TypeProblem(v, spec.type);
    if (!want.empty()) return out.Invalid(spec.name, fmt::format("must be {}, got {}", want, v.dump()));
    if (spec.type == ParamType::kInt) v = static_cast<int64_t>(v.get<double>());
    if (spec.type == ParamType::kInt || spec.type == ParamType::kFloat) {
      double x = v.get<double>();
      if ((spec.min && x < *spec.min) || (spec.max && x > *spec.max)) {
        return out.Invalid(spec.name, fmt::format("must be in [{}, {}], got {}",
                                                  spec.min ? Bound(*spec.min) : "-inf",
                                                  spec.max ? Bound(*spec.max) : "inf", v.dump()));
      }
    }
    if (spec.type == ParamType::kList) {
      for (const nlohmann::json& item : v) {
        std::string w = TypeProblem(item, spec.item_type);
        if (!w.empty()) return out.Invalid(spec.name, fmt::format("every item must be {}, got {}", w, item.dump()));
      }
      double n = static_cast<double>(v.size());
      if ((spec.min && n < *spec.min) || (spec.max && n > *spec.max)) {
        return out.Invalid(spec.name, fmt::format("has {} items, needs at least {}", v.size(),
                                                  spec.min ? Bound(*spec.min) : "0"));
      }
    }
    if (spec.type == ParamType::kString && !spec.enum_values.empty()) {
      bool ok = false;
      std::string all;
      for (const auto& e : spec.enum_values) {
        ok = ok || e == v.get<std::string>();
        all += (all.empty() ? "" : ", ") + e;
      }
      if (!ok) return out.Invalid(spec.name, fmt::format("must be one of {}, got {}", all, v.dump()));
    }
    if (spec.check) {
      std::string problem = spec.check(v);
      if (!problem.empty()) return out.Invalid(spec.name, fmt::format("{}, got {}", problem, v.dump()));
    }
  }
  if (schema->check) {
    auto problem = schema->check(p);
    if (problem) return out.Invalid(problem->first, problem->second);
  }
  return out;
}

StatusOr<int64_t> JobParams::Int(const std::string& name) const {
  if (!Has(name)) return Invalid(name, "is required");
  const nlohmann::json& v = params_.at(name);
  if (!IsIntegral(v)) return Invalid(name, fmt::format("must be an integer, got {}", v.dump()));
  return static_cast<int64_t>(v.get<double>());
}

StatusOr<double> JobParams::Float(const std::string& name) const {
  if (!Has(name)) return Invalid(name, "is required");
  const nlohmann::json& v = params_.at(name);
  if (!v.is_number()) return Invalid(name, fmt::format("must be a number, got {}", v.dump()));
  return v.get<double>();
}

StatusOr<std::string> JobParams::Str(const std::string& name) const {
  if (!Has(name)) return Invalid(name, "is required");
  const nlohmann::json& v = params_.at(name);
  if (!v.is_string()) return Invalid(name, fmt::format("must be a string, got {}", v.dump()));
  return v.get<std::string>();
}

StatusOr<std::string> JobParams::OptStr(const std::string& name) const {
  if (!Has(name)) return std::string();
  return Str(name);
}

StatusOr<bool> JobParams::Bool(const std::string& name) const {
  if (!Has(name)) return Invalid(name, "is required");
  const nlohmann::json& v = params_.at(name);
  if (!v.is_boolean()) return Invalid(name, fmt::format("must be true or false, got {}", v.dump()));
  return v.get<bool>();
}

}  // namespace fc::jobs
