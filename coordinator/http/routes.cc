#include "coordinator/http/routes.h"

#include "coordinator/tracking/report.h"

#include <nlohmann/json.hpp>

#include "coordinator/store/job_store.h"

namespace fc::coord::http {
namespace {

using nlohmann::json;

json JobJson(const JobRow& j) {
  json outs = json::array();
  for (const Artifact& a : j.outputs) {
    outs.push_back({{"name", a.name}, {"sha256", a.sha256}, {"size", a.size}, {"kind", a.kind}, {"uri", a.uri}});
  }
  json params = json::parse(j.params_json, nullptr, false);
  return {{"id", j.id},
          {"experiment_id", j.experiment_id},
          {"name", j.name},
          {"kind", j.kind},
          {"state", JobStateName(j.state)},
          {"attempt", j.attempt},
          {"max_retries", j.max_retries},
          {"priority", j.priority},
          {"params", params.is_discarded() ? json(j.params_json) : params},
          {"depends_on", j.depends_on},
          {"resources", {{"gpus", j.resources.gpus}, {"gpu_memory_mb", j.resources.gpu_memory_mb}, {"labels", j.resources.labels}}},
          {"worker_id", j.worker_id},
          {"error", j.error},
          {"permanent_failure", j.permanent_failure},
          {"progress", j.progress},
          {"progress_message", j.progress_message},
          {"outputs", outs},
          {"result_json", j.result_json},
          {"created_unix_ms", j.created_ms},
          {"started_unix_ms", j.started_ms},
          {"finished_unix_ms", j.finished_ms},
          {"not_before_unix_ms", j.not_before_ms}};
}

json ExperimentJson(const ExperimentRow& e, const std::map<std::string, int32_t>& counts) {
  return {{"id", e.id},
          {"name", e.name},
          {"state", ExperimentStateName(e.state)},
          {"idempotency_key", e.idempotency_key},
          {"created_unix_ms", e.created_ms},
          {"finished_unix_ms", e.finished_ms},
          {"jobs_by_state", counts}};
}

Response Json(int status, const json& body) { return {status, "application/json", body.dump()}; }
Response Error(const Status& s);
Response Tracked(const StatusOr<json>& r) { return r.ok() ? Json(200, *r) : Error(r.status()); }
Response Error(const Status& s) {
  int code = 500;
  switch (s.code()) {
    case StatusCode::kInvalidArgument: code = 400; break;
    case StatusCode::kNotFound: code = 404; break;
    case StatusCode::kFailedPrecondition: code = 409; break;
    case StatusCode::kResourceExhausted: code = 413; break;
    case StatusCode::kUnavailable: code = 503; break;
    default: break;
  }
  return Json(code, {{"error", s.message()}, {"code", StatusCodeName(s.code())}});
}

int PageSize(const std::map<std::string, std::string>& q) {
  auto it = q.find("page_size");
  if (it == q.end()) return 50;
  try {
    return std::stoi(it->second);
  } catch (...) {
    return -1;
  }
}

std::string Get(const std::map<std::string, std::string>& q, const std::string& k) {
  auto it = q.find(k);
  return it == q.end() ? "" : it->second;
}

}  // namespace

std::string UrlDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && isxdigit(s[i + 1]) && isxdigit(s[i + 2])) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

Response Routes::Handle(const std::string& method, const std::string& target) {
  if (method != "GET" && method != "HEAD") {
    return Json(405, {{"error", "read-only API: only GET"}, {"code", "METHOD_NOT_ALLOWED"}});
  }
  std::string path = target, query;
  size_t qpos = target.find('?');
  if (qpos != std::string::npos) {
    path = target.substr(0, qpos);
    query = target.substr(qpos + 1);
  }
  std::map<std::string, std::string> q;
  size_t start = 0;
  while (start < query.size()) {
    size_t amp = query.find('&', start);
    std::string kv = query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    size_t eq = kv.find('=');
    if (!kv.empty()) q[UrlDecode(kv.substr(0, eq))] = eq == std::string::npos ? "" : UrlDecode(kv.substr(eq + 1));
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  if (path == "/healthz") {
    Status s = health_();
    if (s.ok()) return {200, "text/plain", "ok\n"};
    return {503, "text/plain", s.ToString() + "\n"};
  }
  if (path == "/metrics") return {200, "text/plain; version=0.0.4", metrics_->Render()};
  if (path == "/api/v1/experiments") return Experiments(q);
  const std::string kExp = "/api/v1/experiments/";
  if (path.rfind(kExp, 0) == 0) {
    std::string id = UrlDecode(path.substr(kExp.size()));
    const std::string kTracking = "/tracking";
    if (id.size() > kTracking.size() && id.compare(id.size() - kTracking.size(), kTracking.size(), kTracking) == 0) {
      return Tracked(tracking::ExperimentTrackingJson(*conn_, id.substr(0, id.size() - kTracking.size()), blobs_));
    }
    return Experiment(id);
  }
  // Tracking (docs/tracking.md); ids contain '/'.
  const std::string kCircuit = "/api/v1/circuits/";
  if (path.rfind(kCircuit, 0) == 0) {
    std::string id = UrlDecode(path.substr(kCircuit.size()));
    const std::string kExport = "/export";
    if (id.size() > kExport.size() && id.compare(id.size() - kExport.size(), kExport.size(), kExport) == 0) {
      auto format = tracking::ParseExportFormat(q.count("format") ? q.at("format") : "eapig");
      if (!format.ok()) return Error(format.status().WithContext("query 'format'"));
      auto doc = tracking::ExportCircuit(*conn_, id.substr(0, id.size() - kExport.size()), *format, blobs_);
      if (!doc.ok()) return Error(doc.status());
      return {200, doc->content_type, std::move(doc->body)};
    }
    size_t diff = id.find("/diff/");
    if (diff != std::string::npos) {
      return Tracked(tracking::CircuitDiffJson(*conn_, id.substr(0, diff), id.substr(diff + 6), blobs_));
    }
    return Tracked(tracking::CircuitJson(*conn_, id));
  }
  const std::string kLineage = "/api/v1/lineage/";
  if (path.rfind(kLineage, 0) == 0) return Tracked(tracking::LineageJson(*conn_, UrlDecode(path.substr(kLineage.size()))));
  if (path == "/api/v1/jobs") return Jobs(q);
  const std::string kJob = "/api/v1/jobs/";
  if (path.rfind(kJob, 0) == 0) return Job(UrlDecode(path.substr(kJob.size())));
  if (path == "/api/v1/workers") return Workers(q);
  return Json(404, {{"error", "no route " + path}, {"code", "NOT_FOUND"}});
}

Response Routes::Experiments(const std::map<std::string, std::string>& q) {
  ExperimentState state = ExperimentState::kUnspecified;
  std::string st = Get(q, "state");
  if (!st.empty()) {
    bool found = false;
    for (int i = 1; i <= 4; ++i) {
      std::string name = ExperimentStateName(static_cast<ExperimentState>(i));
      if (st == name || "EXP_" + st == name) {
        state = static_cast<ExperimentState>(i);
        found = true;
      }
    }
    if (!found) return Error(InvalidArgumentError("query 'state': unknown experiment state '{}'", st));
  }
  int ps = PageSize(q);
  if (ps < 0) return Error(InvalidArgumentError("query 'page_size': must be an integer"));
  auto page = store::ListExperiments(*conn_, Get(q, "name_prefix"), state, ps, Get(q, "page_token"));
  if (!page.ok()) return Error(page.status());
  json items = json::array();
  for (const ExperimentRow& e : page->experiments) {
    auto counts = store::CountJobsByState(*conn_, e.id);
    if (!counts.ok()) return Error(counts.status());
    items.push_back(ExperimentJson(e, *counts));
  }
  return Json(200, {{"experiments", items}, {"next_page_token", page->next_page_token}});
}

Response Routes::Experiment(const std::string& id) {
  auto e = store::GetExperiment(*conn_, id);
  if (!e.ok()) return Error(e.status());
  if (!*e) return Error(NotFoundError("experiment '{}' not found", id));
  auto counts = store::CountJobsByState(*conn_, id);
  if (!counts.ok()) return Error(counts.status());
  json body = ExperimentJson(**e, *counts);
  body["spec_yaml"] = (*e)->spec_yaml;
  json jobs = json::array();
  store::JobFilter f;
  f.experiment_id = id;
  std::string token;
  do {
    auto page = store::ListJobs(*conn_, f, 1000, token);
    if (!page.ok()) return Error(page.status());
    for (const JobRow& j : page->jobs) jobs.push_back(JobJson(j));
    token = page->next_page_token;
  } while (!token.empty());
  body["jobs"] = std::move(jobs);
  return Json(200, body);
}

Response Routes::Jobs(const std::map<std::string, std::string>& q) {
  store::JobFilter f;
  f.experiment_id = Get(q, "experiment");
  f.kind = Get(q, "kind");
  f.worker_id = Get(q, "worker");
  std::string st = Get(q, "state");
  if (!st.empty() && !ParseJobState(st, &f.state)) {
    return Error(InvalidArgumentError("query 'state': unknown job state '{}'", st));
  }
  int ps = PageSize(q);
  if (ps < 0) return Error(InvalidArgumentError("query 'page_size': must be an integer"));
  auto page = store::ListJobs(*conn_, f, ps, Get(q, "page_token"));
  if (!page.ok()) return Error(page.status());
  json items = json::array();
  for (const JobRow& j : page->jobs) items.push_back(JobJson(j));
  return Json(200, {{"jobs", items}, {"next_page_token", page->next_page_token}});
}

Response Routes::Job(const std::string& id) {
  auto j = store::GetJob(*conn_, id);
  if (!j.ok()) return Error(j.status());
  if (!*j) return Error(NotFoundError("job '{}' not found", id));
  return Json(200, JobJson(**j));
}

Response Routes::Workers(const std::map<std::string, std::string>& q) {
  std::string dead = Get(q, "include_dead");
  auto ws = workers_(dead == "1" || dead == "true");
  if (!ws.ok()) return Error(ws.status());
  json items = json::array();
  for (const WorkerView& w : *ws) {
    items.push_back({{"id", w.row.id},
                     {"name", w.row.name},
                     {"device", w.row.device},
                     {"slots", w.row.slots},
                     {"gpus", w.row.resources.gpus},
                     {"gpu_memory_mb", w.row.resources.gpu_memory_mb},
                     {"labels", w.row.resources.labels},
                     {"kinds", w.row.kinds},
                     {"draining", w.row.draining},
                     {"cordoned", w.row.cordoned},
                     {"alive", w.alive},
                     {"last_heartbeat_unix_ms", w.last_heartbeat_unix_ms},
                     {"job_ids", w.job_ids}});
  }
  return Json(200, {{"workers", items}});
}

}  // namespace fc::coord::http
