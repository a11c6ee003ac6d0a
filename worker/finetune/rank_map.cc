#include "worker/finetune/rank_map.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace fc::finetune {

using nlohmann::json;

std::vector<std::string> RankMap::CriticalModules() const {
  std::vector<std::string> out;
  for (const auto& [name, e] : modules) {
    if (e.critical) out.push_back(name);
  }
  return out;
}

AdapterConfig RankMap::ToAdapterConfig(double lora_dropout, const std::string& base_model) const {
  // Default (r, alpha): the most frequent pair among the non-critical modules (all modules if
  // every one is critical); ties go to the smaller rank so the choice is deterministic.
  std::map<std::pair<int64_t, double>, int> freq;
  for (const auto& [name, e] : modules) {
    if (!e.critical) ++freq[{e.r, e.alpha}];
  }
  if (freq.empty()) {
    for (const auto& [name, e] : modules) ++freq[{e.r, e.alpha}];
  }
  std::pair<int64_t, double> best{0, 0};
  int best_n = -1;
  for (const auto& [pair, n] : freq) {
    if (n > best_n) {
      best = pair;
      best_n = n;
    }
  }
  AdapterConfig c;
  c.base_model_name_or_path = base_model;
  c.r = best.first;
  c.lora_alpha = best.second;
  c.lora_dropout = lora_dropout;
  for (const auto& [name, e] : modules) {
    c.target_modules.push_back(name);
    if (e.r != c.r) c.rank_pattern[PatternKeyFor(name)] = e.r;
    if (e.alpha != c.lora_alpha) c.alpha_pattern[PatternKeyFor(name)] = e.alpha;
  }
  return c;
}

StatusOr<RankMap> ParseRankMap(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return InvalidArgumentError("{}: not valid JSON: {}", source, e.what());
  }
  if (!j.is_object()) return InvalidArgumentError("{}: rank map must be a JSON object", source);
  RankMap m;
  if (!j.contains("modules") || !j["modules"].is_object() || j["modules"].empty()) {
    return InvalidArgumentError("{} field 'modules': missing or empty (expected {{name: {{r, alpha, critical}}}})", source);
  }
  for (const auto& [name, v] : j["modules"].items()) {
    if (!v.is_object()) return InvalidArgumentError("{} module '{}': must be an object", source, name);
    RankMapEntry e;
    if (!v.contains("r") || !v["r"].is_number_integer() || v["r"].get<int64_t>() < 1) {
      return InvalidArgumentError("{} module '{}' field 'r': must be an integer >= 1, got {}", source, name,
                                  v.contains("r") ? v["r"].dump() : std::string("nothing"));
    }
    e.r = v["r"].get<int64_t>();
    if (v.contains("alpha")) {
      if (!v["alpha"].is_number() || v["alpha"].get<double>() <= 0) {
        return InvalidArgumentError("{} module '{}' field 'alpha': must be a number > 0, got {}", source, name,
                                    v["alpha"].dump());
      }
      e.alpha = v["alpha"].get<double>();
    } else {
      e.alpha = 2.0 * static_cast<double>(e.r);  // the paper's alpha = 2r convention
    }
    if (v.contains("critical")) {
      if (!v["critical"].is_boolean()) {
        return InvalidArgumentError("{} module '{}' field 'critical': must be true or false, got {}", source, name,
                                    v["critical"].dump());
      }
      e.critical = v["critical"].get<bool>();
    }
    m.modules[name] = e;
  }
  for (const char* key : {"lr_critical", "lr_other"}) {
    if (!j.contains(key) || !j[key].is_number() || j[key].get<double>() <= 0) {
      return InvalidArgumentError("{} field '{}': must be a number > 0, got {}", source, key,
                                  j.contains(key) ? j[key].dump() : std::string("nothing"));
    }
  }
  m.lr_critical = j["lr_critical"].get<double>();
  m.lr_other = j["lr_other"].get<double>();
  if (j.contains("critical_layers") && j["critical_layers"].is_array()) {
    for (const auto& l : j["critical_layers"]) {
      if (!l.is_number_integer()) return InvalidArgumentError("{} field 'critical_layers': entries must be integers", source);
      m.critical_layers.push_back(l.get<int64_t>());
    }
  }
  return m;
}

StatusOr<RankMap> ReadRankMap(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFoundError("rank map '{}' not found", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseRankMap(ss.str(), path);
}

std::string RankMapToJson(const RankMap& m) {
  json j;
  j["modules"] = json::object();
  for (const auto& [name, e] : m.modules) j["modules"][name] = {{"r", e.r}, {"alpha", e.alpha}, {"critical", e.critical}};
  j["lr_critical"] = m.lr_critical;
  j["lr_other"] = m.lr_other;
  j["critical_layers"] = m.critical_layers;
  return j.dump(2);
}

}  // namespace fc::finetune
