#include "worker/finetune/adapter_config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace fc::finetune {

namespace {

using nlohmann::json;

// Keys this reader interprets; everything else lands in `extra`.
const std::set<std::string>& KnownKeys() {
  static const std::set<std::string> k = {
      "peft_type", "task_type", "r", "lora_alpha", "lora_dropout", "target_modules",
      "rank_pattern", "alpha_pattern", "fan_in_fan_out", "bias", "base_model_name_or_path",
      "inference_mode", "use_rslora", "modules_to_save"};
  return k;
}

bool RegexSuffixMatch(const std::string& key, const std::string& module) {
  try {
    return std::regex_match(module, std::regex("(.*\\.)?(" + key + ")"));
  } catch (const std::regex_error&) {
    return false;  // validated at parse time; a bad key simply never matches
  }
}

template <typename V>
const V* ResolvePattern(const std::map<std::string, V>& pattern, const std::string& module) {
  auto it = pattern.find(module);
  if (it != pattern.end()) return &it->second;
  for (const auto& [key, value] : pattern) {
    if (RegexSuffixMatch(key, module)) return &value;
  }
  return nullptr;
}

Status FieldError(const std::string& source, const std::string& field, const std::string& problem) {
  return InvalidArgumentError("{} field '{}': {}", source, field, problem);
}

}  // namespace

bool AdapterConfig::Targets(const std::string& module) const {
  if (target_regex) {
    try {
      return std::regex_match(module, std::regex(*target_regex));
    } catch (const std::regex_error&) {
      return false;
    }
  }
  for (const auto& t : target_modules) {
    if (module == t) return true;
    if (module.size() > t.size() && module.compare(module.size() - t.size(), t.size(), t) == 0 &&
        module[module.size() - t.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

int64_t AdapterConfig::RankFor(const std::string& module) const {
  const int64_t* v = ResolvePattern(rank_pattern, module);
  return v ? *v : r;
}

double AdapterConfig::AlphaFor(const std::string& module) const {
  const double* v = ResolvePattern(alpha_pattern, module);
  return v ? *v : lora_alpha;
}

double AdapterConfig::ScaleFor(const std::string& module) const {
  const double rank = static_cast<double>(RankFor(module));
  return use_rslora ? AlphaFor(module) / std::sqrt(rank) : AlphaFor(module) / rank;
}

std::string PatternKeyFor(const std::string& module) {
  size_t dot = module.find('.');
  return dot == std::string::npos ? module : module.substr(dot + 1);
}

StatusOr<AdapterConfig> ParseAdapterConfig(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return InvalidArgumentError("{}: not valid JSON: {}", source, e.what());
  }
  if (!j.is_object()) return InvalidArgumentError("{}: top level must be a JSON object", source);
  AdapterConfig c;
  try {
    if (j.contains("peft_type") && !j["peft_type"].is_null()) {
      std::string t = j["peft_type"].get<std::string>();
      if (t != "LORA") return FieldError(source, "peft_type", "only LORA adapters are supported, got '" + t + "'");
    }
    if (j.contains("task_type") && j["task_type"].is_string()) c.task_type = j["task_type"].get<std::string>();
    if (j.contains("base_model_name_or_path") && j["base_model_name_or_path"].is_string()) {
      c.base_model_name_or_path = j["base_model_name_or_path"].get<std::string>();
    }
    if (j.contains("r")) {
      if (!j["r"].is_number_integer()) return FieldError(source, "r", "must be an integer, got " + j["r"].dump());
      c.r = j["r"].get<int64_t>();
    }
    if (c.r < 1) return FieldError(source, "r", "must be >= 1, got " + std::to_string(c.r));
    // peft's default lora_alpha is 8 regardless of r.
    if (j.contains("lora_alpha")) {
      if (!j["lora_alpha"].is_number()) return FieldError(source, "lora_alpha", "must be a number, got " + j["lora_alpha"].dump());
      c.lora_alpha = j["lora_alpha"].get<double>();
    }
    if (j.contains("lora_dropout") && !j["lora_dropout"].is_null()) {
      c.lora_dropout = j["lora_dropout"].get<double>();
      if (!(c.lora_dropout >= 0.0 && c.lora_dropout < 1.0)) {
        return FieldError(source, "lora_dropout", "must be in [0, 1), got " + j["lora_dropout"].dump());
      }
    }
    if (j.contains("target_modules") && !j["target_modules"].is_null()) {
      const json& t = j["target_modules"];
      if (t.is_string()) {
        c.target_regex = t.get<std::string>();
        try {
          std::regex check(*c.target_regex);
        } catch (const std::regex_error& e) {
          return FieldError(source, "target_modules", "invalid regex '" + *c.target_regex + "': " + e.what());
        }
      } else if (t.is_array()) {
        for (const auto& m : t) {
          if (!m.is_string()) return FieldError(source, "target_modules", "entries must be strings, got " + m.dump());
          c.target_modules.push_back(m.get<std::string>());
        }
        std::sort(c.target_modules.begin(), c.target_modules.end());
      } else {
        return FieldError(source, "target_modules", "must be a list or a string, got " + t.dump());
      }
    }
    if (j.contains("rank_pattern") && !j["rank_pattern"].is_null()) {
      if (!j["rank_pattern"].is_object()) return FieldError(source, "rank_pattern", "must be an object");
      for (const auto& [k, v] : j["rank_pattern"].items()) {
        if (!v.is_number_integer() || v.get<int64_t>() < 1) {
          return FieldError(source, "rank_pattern." + k, "must be an integer >= 1, got " + v.dump());
        }
        c.rank_pattern[k] = v.get<int64_t>();
      }
    }
    if (j.contains("alpha_pattern") && !j["alpha_pattern"].is_null()) {
      if (!j["alpha_pattern"].is_object()) return FieldError(source, "alpha_pattern", "must be an object");
      for (const auto& [k, v] : j["alpha_pattern"].items()) {
        if (!v.is_number()) return FieldError(source, "alpha_pattern." + k, "must be a number, got " + v.dump());
        c.alpha_pattern[k] = v.get<double>();
      }
    }
    if (j.contains("fan_in_fan_out") && !j["fan_in_fan_out"].is_null()) c.fan_in_fan_out = j["fan_in_fan_out"].get<bool>();
    if (j.contains("inference_mode") && !j["inference_mode"].is_null()) c.inference_mode = j["inference_mode"].get<bool>();
    if (j.contains("use_rslora") && !j["use_rslora"].is_null()) c.use_rslora = j["use_rslora"].get<bool>();
    if (j.contains("bias") && !j["bias"].is_null() && j["bias"].get<std::string>() != "none") {
      return FieldError(source, "bias", "only \"none\" is supported, got " + j["bias"].dump());
    }
    if (j.contains("modules_to_save") && !j["modules_to_save"].is_null() &&
        !(j["modules_to_save"].is_array() && j["modules_to_save"].empty())) {
      return FieldError(source, "modules_to_save", "extra trained modules are not supported, got " +
                                                       j["modules_to_save"].dump());
    }
  } catch (const json::exception& e) {
    return InvalidArgumentError("{}: wrong type in adapter config: {}", source, e.what());
  }
  if (c.target_modules.empty() && !c.target_regex) {
    return FieldError(source, "target_modules", "missing or empty: no module would get an adapter");
  }
  for (const auto& [k, v] : j.items()) {
    if (!KnownKeys().count(k)) c.extra[k] = v;
  }
  return c;
}

StatusOr<AdapterConfig> ReadAdapterConfig(const std::string& dir) {
  const std::string path = dir + "/" + kAdapterConfigFile;
  std::ifstream in(path);
  if (!in) return NotFoundError("adapter config '{}' not found", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseAdapterConfig(ss.str(), path);
}

nlohmann::json AdapterConfigToJson(const AdapterConfig& c) {
  json j = c.extra.is_object() ? c.extra : json::object();
  // Defaults peft writes that this reader keeps in `extra`, set only when absent.
  if (!j.contains("init_lora_weights")) j["init_lora_weights"] = true;
  if (!j.contains("layers_to_transform")) j["layers_to_transform"] = nullptr;
  if (!j.contains("layers_pattern")) j["layers_pattern"] = nullptr;
  if (!j.contains("revision")) j["revision"] = nullptr;
  j["peft_type"] = "LORA";
  j["task_type"] = c.task_type;
  j["base_model_name_or_path"] = c.base_model_name_or_path;
  j["r"] = c.r;
  j["lora_alpha"] = c.lora_alpha;
  j["lora_dropout"] = c.lora_dropout;
  if (c.target_regex) {
    j["target_modules"] = *c.target_regex;
  } else {
    j["target_modules"] = c.target_modules;
  }
  j["rank_pattern"] = json::object();
  for (const auto& [k, v] : c.rank_pattern) j["rank_pattern"][k] = v;
  j["alpha_pattern"] = json::object();
  for (const auto& [k, v] : c.alpha_pattern) j["alpha_pattern"][k] = v;
  j["fan_in_fan_out"] = c.fan_in_fan_out;
  j["bias"] = "none";
  j["inference_mode"] = c.inference_mode;
  j["use_rslora"] = c.use_rslora;
  j["modules_to_save"] = nullptr;
  return j;
}

Status WriteAdapterConfig(const AdapterConfig& c, const std::string& dir) {
  const std::string path = dir + "/" + kAdapterConfigFile;
  std::ofstream out(path, std::ios::trunc);
  if (!out) return InternalError("cannot open '{}' for writing", path);
  out << AdapterConfigToJson(c).dump(2) << "\n";
  out.flush();
  if (!out) return InternalError("cannot write '{}'", path);
  return Status::OK();
}

}  // namespace fc::finetune
