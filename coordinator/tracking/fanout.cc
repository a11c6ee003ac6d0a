#include "coordinator/tracking/fanout.h"

#include <algorithm>

#include <fmt/format.h>

namespace fc::coord::tracking {

using nlohmann::json;

StatusOr<std::optional<CheckpointRow>> ParseCheckpointReport(const json& metrics, const JobRow& job,
                                                             int64_t now_ms) {
  if (!metrics.is_object() || !metrics.contains("checkpoint")) return std::optional<CheckpointRow>();
  const json& c = metrics.at("checkpoint");
  if (!c.is_object()) {
    return InvalidArgumentError("job {} progress metrics_json field 'checkpoint': expected an object", job.id);
  }
  if (!c.contains("step") || !c.at("step").is_number_integer() || c.at("step").get<int64_t>() < 0) {
    return InvalidArgumentError("job {} progress metrics_json field 'checkpoint.step': expected an integer >= 0",
                                job.id);
  }
  if (!c.contains("path") || !c.at("path").is_string() || c.at("path").get<std::string>().empty()) {
    return InvalidArgumentError("job {} progress metrics_json field 'checkpoint.path': expected a non-empty string",
                                job.id);
  }
  auto str = [&](const char* k, const std::string& dflt) {
    return c.contains(k) && c.at(k).is_string() ? c.at(k).get<std::string>() : dflt;
  };
  auto num = [&](const char* k) { return c.contains(k) && c.at(k).is_number() ? c.at(k).get<double>() : 0.0; };
  CheckpointRow r;
  r.job_id = job.id;
  r.experiment_id = job.experiment_id;
  r.step = c.at("step").get<int64_t>();
  r.name = str("name", CheckpointName(r.step));
  r.parent = str("parent", "base");
  r.path = c.at("path").get<std::string>();
  r.method = str("method", "");
  r.loss = num("loss");
  r.accuracy = num("accuracy");
  r.attempt = job.attempt;
  r.reported_ms = now_ms;
  return std::optional<CheckpointRow>(std::move(r));
}

std::vector<MetricRow> ParseStepMetrics(const json& metrics, const std::string& job_id) {
  std::vector<MetricRow> out;
  if (!metrics.is_object() || !metrics.contains("step") || !metrics.at("step").is_number_integer()) return out;
  const int64_t step = metrics.at("step").get<int64_t>();
  for (const auto& [k, v] : metrics.items()) {
    if (k == "step" || k == "steps" || !v.is_number()) continue;
    out.push_back({job_id, k, step, v.get<double>()});
  }
  return out;
}

std::string ChildName(const std::string& reextract_name, int64_t step) {
  return fmt::format("{}@{}", reextract_name, step);
}

std::optional<int64_t> ChildStep(const std::string& reextract_name, const std::string& job_name) {
  if (job_name.size() <= reextract_name.size() + 1 || job_name.compare(0, reextract_name.size(), reextract_name) != 0 ||
      job_name[reextract_name.size()] != '@') {
    return std::nullopt;
  }
  const std::string digits = job_name.substr(reextract_name.size() + 1);
  if (digits.empty() || digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoll(digits);
}

std::string RefJob(const json& value) {
  if (!value.is_string()) return "";
  const std::string s = value.get<std::string>();
  return s.substr(0, s.find('.'));
}

StatusOr<ChildSpec> BuildChild(const JobRow& reextract, const JobRow& like, const JobRow& finetune, int64_t step,
                               const std::string& checkpoint_path,
                               const std::function<bool(const std::string&)>& is_job) {
  json rp = json::parse(reextract.params_json, nullptr, false);
  json lp = json::parse(like.params_json, nullptr, false);
  json fp = json::parse(finetune.params_json, nullptr, false);
  if (!rp.is_object() || !lp.is_object() || !fp.is_object()) {
    return InternalError("job {}: stored params of {}, {} or {} are not JSON objects", reextract.id, reextract.name,
                         like.name, finetune.name);
  }
  ChildSpec c;
  c.name = ChildName(reextract.name, step);
  c.params = lp;
  c.params["model"] = rp.contains("model") ? rp.at("model") : fp.at("model");
  if (rp.contains("data")) c.params["data"] = rp.at("data");
  if (rp.contains("device") && rp.at("device") != "auto") c.params["device"] = rp.at("device");
  if (checkpoint_path.empty()) {
    c.params.erase("checkpoint");
  } else {
    c.params["checkpoint"] = checkpoint_path;
  }
  for (const char* k : {"model", "data"}) {
    if (!c.params.contains(k)) continue;
    std::string dep = RefJob(c.params.at(k));
    if (!dep.empty() && is_job(dep) &&
        std::find(c.depends_on.begin(), c.depends_on.end(), dep) == c.depends_on.end()) {
      c.depends_on.push_back(dep);
    }
  }
  return c;
}

CircuitRow CircuitFromResult(const JobRow& job, int64_t step, const std::string& checkpoint, int64_t now_ms) {
  CircuitRow r;
  r.id = job.id;
  r.experiment_id = job.experiment_id;
  r.job_id = job.id;
  r.step = step;
  r.checkpoint = checkpoint;
  r.created_ms = now_ms;
  json res = json::parse(job.result_json.empty() ? "{}" : job.result_json, nullptr, false);
  if (res.is_object()) {
    if (res.contains("nodes") && res.at("nodes").is_number()) r.n_nodes = res.at("nodes").get<int64_t>();
    if (res.contains("edges") && res.at("edges").is_number()) r.n_edges = res.at("edges").get<int64_t>();
    r.summary_json = res.dump();
  }
  return r;
}

}  // namespace fc::coord::tracking
