#include "worker/agent/params.h"

namespace fc::agent {
namespace {

Status TypeError(const nlohmann::json& v, const std::string& kind, const std::string& field,
                 const char* want) {
  return InvalidArgumentError("job kind '{}' field '{}': must be {}, got {}", kind, field, want,
                              v.dump());
}

}  // namespace

StatusOr<double> GetNumber(const nlohmann::json& params, const std::string& kind,
                           const std::string& field, double default_value) {
  if (!params.is_object() || !params.contains(field)) return default_value;
  const nlohmann::json& v = params.at(field);
  if (!v.is_number()) return TypeError(v, kind, field, "a number");
  return v.get<double>();
}

StatusOr<bool> GetBool(const nlohmann::json& params, const std::string& kind,
                       const std::string& field, bool default_value) {
  if (!params.is_object() || !params.contains(field)) return default_value;
  const nlohmann::json& v = params.at(field);
  if (!v.is_boolean()) return TypeError(v, kind, field, "true or false");
  return v.get<bool>();
}

StatusOr<std::string> GetString(const nlohmann::json& params, const std::string& kind,
                                const std::string& field, const std::string& default_value) {
  if (!params.is_object() || !params.contains(field)) return default_value;
  const nlohmann::json& v = params.at(field);
  if (!v.is_string()) return TypeError(v, kind, field, "a string");
  return v.get<std::string>();
}

StatusOr<nlohmann::json> ParseKeyValueParams(const std::vector<std::string>& pairs) {
  nlohmann::json out = nlohmann::json::object();
  for (const std::string& pair : pairs) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgumentError("--param '{}': expected key=value", pair);
    }
    std::string key = pair.substr(0, eq);
    std::string value = pair.substr(eq + 1);
    if (out.contains(key)) return InvalidArgumentError("--param '{}': key '{}' given twice", pair, key);
    // Parse without exceptions: a value that is not valid JSON is a plain string.
    nlohmann::json parsed = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
    out[key] = parsed.is_discarded() ? nlohmann::json(value) : parsed;
  }
  return out;
}

}  // namespace fc::agent
