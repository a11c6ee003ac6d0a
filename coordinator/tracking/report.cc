#include "coordinator/tracking/report.h"

#include <algorithm>
#include <map>

#include "common/circuit/diff.h"
#include "common/circuit/dot_format.h"
#include "common/circuit/json_format.h"
#include "coordinator/artifacts/artifact_reader.h"
#include "coordinator/store/job_store.h"
#include "coordinator/tracking/fanout.h"
#include "coordinator/tracking/tracking_store.h"

namespace fc::coord::tracking {
namespace {

using nlohmann::json;

json ParseOr(const std::string& s) {
  json j = json::parse(s.empty() ? "{}" : s, nullptr, false);
  return j.is_discarded() ? json::object() : j;
}

// summary["a"]["b"] or null.
json At(const json& j, const char* a, const char* b = nullptr) {
  if (!j.is_object() || !j.contains(a)) return nullptr;
  if (!b) return j.at(a);
  const json& x = j.at(a);
  return x.is_object() && x.contains(b) ? x.at(b) : json(nullptr);
}

std::string NameOf(const std::string& job_id) { return job_id.substr(job_id.find('/') + 1); }

json DiffToJson(const circuit::CircuitDiff& d) {
  return {{"nodes_added", d.nodes_added.size()},
          {"nodes_removed", d.nodes_removed.size()},
          {"edges_added", d.edges_added.size()},
          {"edges_removed", d.edges_removed.size()},
          {"nodes_added_per_layer", d.nodes_added_per_layer},
          {"nodes_removed_per_layer", d.nodes_removed_per_layer},
          {"edges_added_per_layer", d.edges_added_per_layer},
          {"edges_removed_per_layer", d.edges_removed_per_layer},
          {"node_jaccard", d.node_jaccard},
          {"edge_jaccard", d.edge_jaccard},
          {"node_induced_edge_changes", d.node_induced_edge_changes},
          {"other_edge_changes", d.other_edge_changes}};
}

StatusOr<std::vector<JobRow>> AllJobs(store::Connection& conn, const std::string& experiment_id) {
  std::vector<JobRow> out;
  std::string token;
  do {
    store::JobFilter f;
    f.experiment_id = experiment_id;
    FC_ASSIGN_OR_RETURN(store::JobPage page, store::ListJobs(conn, f, 1000, token));
    for (JobRow& j : page.jobs) out.push_back(std::move(j));
    token = page.next_page_token;
  } while (!token.empty());
  return out;
}

const std::vector<std::string> kCircuitMembers = {"circuit.json", "circuit/circuit.json", "circuit_collapsed.json",
                                                  "circuit/circuit_collapsed.json"};

}  // namespace

StatusOr<circuit::CircuitFile> ReadCircuitOutput(store::Connection& conn, const std::string& circuit_id,
                                                 const artifacts::BlobStore* blobs) {
  FC_ASSIGN_OR_RETURN(auto row, GetCircuit(conn, circuit_id));
  if (!row) return NotFoundError("circuit '{}' not found", circuit_id);
  FC_ASSIGN_OR_RETURN(auto job, store::GetJob(conn, row->job_id));
  if (!job || job->outputs.empty()) {
    return FailedPreconditionError("circuit '{}': job {} has no outputs", circuit_id, row->job_id);
  }
  FC_ASSIGN_OR_RETURN(artifacts::OutputFile file,
                      artifacts::ReadOutputFile(blobs, job->outputs.front().uri, kCircuitMembers));
  return circuit::ParseCircuitJson(file.bytes, file.source);
}

namespace {

// ReadCircuitOutput for a circuit whose scores are not stored: an unknown id stays NOT_FOUND,
// a corrupt blob DATA_LOSS and a store failure what it was; a missing, unreadable or malformed
// output means "this circuit's edges are not available here" (FAILED_PRECONDITION), not "no
// such circuit" or "bad request".
StatusOr<circuit::CircuitFile> ReadOutput(store::Connection& conn, const std::string& circuit_id,
                                          const artifacts::BlobStore* blobs) {
  FC_ASSIGN_OR_RETURN(auto row, GetCircuit(conn, circuit_id));
  if (!row) return NotFoundError("circuit '{}' not found", circuit_id);
  auto f = ReadCircuitOutput(conn, circuit_id, blobs);
  const StatusCode code = f.status().code();
  if (f.ok() || (code != StatusCode::kNotFound && code != StatusCode::kFailedPrecondition &&
                 code != StatusCode::kInvalidArgument && code != StatusCode::kResourceExhausted)) {
    return f;
  }
  return FailedPreconditionError("circuit '{}': no stored edge scores and its output cannot be read here: {}",
                                 circuit_id, f.status().message());
}

}  // namespace

StatusOr<circuit::CollapsedCircuit> LoadCollapsed(store::Connection& conn, const std::string& circuit_id,
                                                  const artifacts::BlobStore* blobs) {
  auto stored = GetCircuitScores(conn, circuit_id);
  if (stored.ok()) {
    circuit::GraphLayout g(stored->cfg());
    return circuit::Collapse(g, *stored);
  }
  if (stored.status().code() != StatusCode::kNotFound) return stored.status();
  FC_ASSIGN_OR_RETURN(circuit::CircuitFile f, ReadOutput(conn, circuit_id, blobs));
  if (f.is_collapsed) return std::move(f.collapsed);
  circuit::GraphLayout g(f.full.cfg());
  return circuit::Collapse(g, f.full);
}

StatusOr<json> ExperimentTrackingJson(store::Connection& conn, const std::string& experiment_id,
                                      const artifacts::BlobStore* blobs) {
  FC_ASSIGN_OR_RETURN(auto exp, store::GetExperiment(conn, experiment_id));
  if (!exp) return NotFoundError("experiment '{}' not found", experiment_id);
  FC_ASSIGN_OR_RETURN(std::vector<JobRow> jobs, AllJobs(conn, experiment_id));
  FC_ASSIGN_OR_RETURN(std::vector<CheckpointRow> ckpts, ListCheckpoints(conn, experiment_id));
  FC_ASSIGN_OR_RETURN(std::vector<CircuitRow> circuits, ListCircuits(conn, experiment_id));
  std::map<std::string, const JobRow*> by_name;
  for (const JobRow& j : jobs) by_name[j.name] = &j;

  json finetunes = json::array();
  for (const JobRow& j : jobs) {
    if (j.kind != kFinetuneKind) continue;
    json p = ParseOr(j.params_json), r = ParseOr(j.result_json);
    json points = json::array();
    for (const CheckpointRow& c : ckpts) {
      if (c.job_id != j.id) continue;
      points.push_back({{"step", c.step}, {"name", c.name}, {"parent", c.parent}, {"loss", c.loss},
                        {"accuracy", c.accuracy}, {"path", c.path}});
    }
    json loss = json::array();
    FC_ASSIGN_OR_RETURN(auto metrics, ListMetrics(conn, j.id));
    for (const MetricRow& m : metrics) {
      if (m.name == "loss") loss.push_back({{"step", m.step}, {"value", m.value}});
    }
    finetunes.push_back({{"job", j.name}, {"state", JobStateName(j.state)}, {"method", p.value("method", "")},
                         {"trainable_params", At(r, "trainable_params")}, {"checkpoints", points}, {"loss", loss}});
  }

  json tracks = json::array();
  for (const JobRow& t : jobs) {
    if (t.kind != kReextractKind) continue;
    json tp = ParseOr(t.params_json);
    const std::string ft = RefJob(tp.value("finetune", json("")));
    std::map<int64_t, double> ckpt_accuracy;
    for (const CheckpointRow& c : ckpts) {
      if (NameOf(c.job_id) == ft) ckpt_accuracy[c.step] = c.accuracy;
    }
    std::vector<const CircuitRow*> mine;
    for (const CircuitRow& c : circuits) {
      if (ChildStep(t.name, NameOf(c.job_id))) mine.push_back(&c);
    }
    std::sort(mine.begin(), mine.end(), [](auto* a, auto* b) { return a->step < b->step; });
    std::vector<std::optional<circuit::CollapsedCircuit>> loaded;
    std::string missing;
    for (const CircuitRow* c : mine) {
      auto cc = LoadCollapsed(conn, c->id, blobs);
      if (!cc.ok() && missing.empty()) missing = cc.status().message();
      loaded.push_back(cc.ok() ? std::optional<circuit::CollapsedCircuit>(std::move(*cc)) : std::nullopt);
    }
    json points = json::array();
    for (size_t i = 0; i < mine.size(); ++i) {
      const CircuitRow& c = *mine[i];
      json s = ParseOr(c.summary_json);
      json pt = {{"step", c.step},
                 {"circuit", c.id},
                 {"checkpoint", c.checkpoint},
                 {"nodes", c.n_nodes},
                 {"edges", c.n_edges},
                 {"faithfulness_kl_pct", At(s, "faithfulness", "kl_pct")},
                 {"faithfulness_normalized", At(s, "faithfulness", "normalized")},
                 {"circuit_accuracy", At(s, "accuracy", "circuit")},
                 {"model_accuracy", At(s, "accuracy", "clean")},
                 {"checkpoint_accuracy", ckpt_accuracy.count(c.step) ? json(ckpt_accuracy[c.step]) : json(nullptr)},
                 {"diff_prev", nullptr},
                 {"diff_base", nullptr}};
      if (loaded[i] && i > 0 && loaded[i - 1]) {
        auto d = circuit::DiffCircuits(*loaded[i - 1], *loaded[i]);
        if (d.ok()) pt["diff_prev"] = DiffToJson(*d);
      }
      if (loaded[i] && loaded[0]) {
        auto d = circuit::DiffCircuits(*loaded[0], *loaded[i]);
        if (d.ok()) pt["diff_base"] = DiffToJson(*d);
      }
      points.push_back(std::move(pt));
    }
    tracks.push_back({{"job", t.name}, {"state", JobStateName(t.state)}, {"finetune", ft}, {"points", points},
                      {"diffs_missing", missing.empty() ? json(nullptr) : json(missing)}});
  }

  // CircuitLoRA vs LoRA: each evaluate job of a finetune model, with that model's parameters.
  json evals = json::array();
  for (const JobRow& j : jobs) {
    if (j.kind != "evaluate") continue;
    json p = ParseOr(j.params_json), r = ParseOr(j.result_json);
    const std::string model = RefJob(p.value("model", json("")));
    json method = nullptr, params = nullptr;
    auto it = by_name.find(model);
    if (it != by_name.end() && it->second->kind == kFinetuneKind) {
      method = ParseOr(it->second->params_json).value("method", "");
      params = At(ParseOr(it->second->result_json), "trainable_params");
    }
    evals.push_back({{"job", j.name}, {"model", model}, {"method", method}, {"trainable_params", params},
                     {"accuracy", At(r, "accuracy")}, {"state", JobStateName(j.state)}});
  }
  return json{{"experiment", experiment_id}, {"state", ExperimentStateName(exp->state)},
              {"finetunes", finetunes}, {"tracks", tracks}, {"evaluations", evals}};
}

StatusOr<json> CircuitJson(store::Connection& conn, const std::string& circuit_id) {
  FC_ASSIGN_OR_RETURN(auto row, GetCircuit(conn, circuit_id));
  if (!row) return NotFoundError("circuit '{}' not found", circuit_id);
  json out = {{"id", row->id}, {"experiment", row->experiment_id}, {"job", row->job_id}, {"step", row->step},
              {"checkpoint", row->checkpoint}, {"nodes", row->n_nodes}, {"edges", row->n_edges},
              {"summary", ParseOr(row->summary_json)}};
  auto scores = GetCircuitScores(conn, circuit_id);
  out["scores_stored"] = scores.ok();
  return out;
}

StatusOr<json> CircuitDiffJson(store::Connection& conn, const std::string& a, const std::string& b,
                               const artifacts::BlobStore* blobs) {
  FC_ASSIGN_OR_RETURN(circuit::CollapsedCircuit ca, LoadCollapsed(conn, a, blobs));
  FC_ASSIGN_OR_RETURN(circuit::CollapsedCircuit cb, LoadCollapsed(conn, b, blobs));
  FC_ASSIGN_OR_RETURN(circuit::CircuitDiff d, circuit::DiffCircuits(ca, cb));
  json out = DiffToJson(d);
  out["before"] = a;
  out["after"] = b;
  return out;
}

StatusOr<ExportFormat> ParseExportFormat(const std::string& name) {
  if (name == "eapig") return ExportFormat::kEapIg;
  if (name == "collapsed") return ExportFormat::kCollapsed;
  if (name == "dot") return ExportFormat::kDot;
  return InvalidArgumentError("format '{}': expected eapig, collapsed or dot", name);
}

StatusOr<CircuitExport> ExportCircuit(store::Connection& conn, const std::string& circuit_id, ExportFormat format,
                                      const artifacts::BlobStore* blobs, int64_t max_bytes) {
  circuit::CircuitFile f;
  auto stored = GetCircuitScores(conn, circuit_id);
  if (stored.ok()) {
    f.full = std::move(*stored);
  } else if (stored.status().code() != StatusCode::kNotFound) {
    return stored.status();
  } else {
    FC_ASSIGN_OR_RETURN(f, ReadOutput(conn, circuit_id, blobs));
  }
  if (!f.is_collapsed) FC_RETURN_IF_ERROR(circuit::ValidateCircuit(f.full));
  CircuitExport out;
  if (format == ExportFormat::kEapIg) {
    if (f.is_collapsed) {
      return FailedPreconditionError(
          "circuit '{}': only its q/k/v-collapsed form is available (no per-q/k/v scores); use --format collapsed or dot",
          circuit_id);
    }
    out.body = circuit::CircuitToJson(f.full, circuit::JsonDialect::kEapOld);
    out.content_type = "application/json";
  } else {
    if (!f.is_collapsed) {
      circuit::GraphLayout g(f.full.cfg());
      FC_ASSIGN_OR_RETURN(f.collapsed, circuit::Collapse(g, f.full));
    }
    FC_RETURN_IF_ERROR(circuit::ValidateCollapsed(f.collapsed));
    if (format == ExportFormat::kCollapsed) {
      out.body = circuit::CollapsedToJson(f.collapsed, circuit::JsonDialect::kEapOld);
      out.content_type = "application/json";
    } else {
      circuit::DotOptions opt;
      opt.graph_name = "circuit";
      out.body = circuit::CollapsedToDot(f.collapsed, opt);
      out.content_type = "text/vnd.graphviz";
    }
  }
  if (static_cast<int64_t>(out.body.size()) > max_bytes) {
    return ResourceExhaustedError("circuit '{}': the export has {} bytes, more than the {} byte limit", circuit_id,
                                  out.body.size(), max_bytes);
  }
  return out;
}

StatusOr<json> LineageJson(store::Connection& conn, const std::string& ref) {
  FC_ASSIGN_OR_RETURN(std::vector<CheckpointRow> chain, Lineage(conn, ref));
  json items = json::array();
  for (const CheckpointRow& c : chain) {
    items.push_back({{"checkpoint", c.job_id + "/" + c.name}, {"step", c.step}, {"parent", c.parent},
                     {"job", c.job_id}, {"attempt", c.attempt}, {"path", c.path}, {"loss", c.loss},
                     {"accuracy", c.accuracy}, {"method", c.method}});
  }
  return json{{"checkpoint", ref}, {"lineage", items}};
}

}  // namespace fc::coord::tracking
