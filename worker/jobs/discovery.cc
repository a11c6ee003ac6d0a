#include "worker/jobs/discovery.h"

#include <cmath>

#include "common/circuit/dot_format.h"
#include "common/circuit/json_format.h"
#include "worker/attribution/batch.h"
#include "worker/attribution/eap.h"
#include "worker/attribution/graph_of_model.h"
#include "worker/attribution/patched_forward.h"
#include "worker/data/circuit_rows.h"
#include "worker/data/row_io.h"
#include "worker/jobs/job_io.h"

namespace fc::jobs {
namespace {

double Finite(double x) { return std::isfinite(x) ? x : NAN; }

// For the difference metrics every row needs a competing token; the task rows carry only the
// correct answer, so the competitor is the model's own top prediction on the corrupted prompt
// (its second choice when that equals the label) - the answer the corruption pushes towards.
Status FillIncorrectTokens(model::CausalLM& model, std::vector<attribution::TokenizedRow>* rows, int64_t pad_id,
                           int64_t batch_size) {
  torch::NoGradGuard no_grad;
  for (size_t start = 0; start < rows->size(); start += batch_size) {
    size_t end = std::min(rows->size(), start + static_cast<size_t>(batch_size));
    std::vector<attribution::TokenizedRow> part(rows->begin() + start, rows->begin() + end);
    FC_ASSIGN_OR_RETURN(auto batches, attribution::MakeBatches(part, batch_size, pad_id));
    const auto& b = batches.front();
    torch::Tensor logits = model.Forward(b.corrupted_ids.to(model.module().parameters().front().device()));
    FC_ASSIGN_OR_RETURN(torch::Tensor last, attribution::GatherLastPosition(logits, b.lengths.to(logits.device())));
    torch::Tensor top2 = std::get<1>(last.topk(2, -1)).to(torch::kCPU);
    for (size_t i = start; i < end; ++i) {
      int64_t t0 = top2[i - start][0].item<int64_t>(), t1 = top2[i - start][1].item<int64_t>();
      (*rows)[i].incorrect = t0 == (*rows)[i].label ? t1 : t0;
    }
  }
  return Status::OK();
}

}  // namespace

StatusOr<DiscoveryOptions> DiscoveryOptionsFromParams(const JobParams& p) {
  DiscoveryOptions o;
  FC_ASSIGN_OR_RETURN(std::string method, p.Str("method"));
  auto m = attribution::ParseMethod(method);
  if (!m.ok()) return p.Invalid("method", m.status().message());
  o.attribution.method = *m;
  FC_ASSIGN_OR_RETURN(int64_t steps, p.Int("ig_steps"));
  o.attribution.ig_steps = static_cast<int>(steps);
  FC_ASSIGN_OR_RETURN(std::string metric, p.Str("metric"));
  auto mk = attribution::ParseMetricKind(metric);
  if (!mk.ok()) return p.Invalid("metric", mk.status().message());
  o.attribution.metric.kind = *mk;
  FC_ASSIGN_OR_RETURN(o.batch_size, p.Int("batch_size"));
  FC_ASSIGN_OR_RETURN(std::string format, p.Str("prompt_format"));
  if (format == "ft" || format == "ft_nobos" || format == "paper") {
    o.prompt.prepend_bos = format != "ft_nobos";
    o.prompt.append_newline = format != "paper";
  } else {
    return p.Invalid("prompt_format", fmt::format("must be ft, ft_nobos or paper, got '{}'", format));
  }
  FC_ASSIGN_OR_RETURN(bool absolute, p.Bool("absolute"));
  FC_ASSIGN_OR_RETURN(std::string selection, p.Str("selection"));
  std::string text;
  if (selection == "threshold") {
    FC_ASSIGN_OR_RETURN(double tau, p.Float("threshold"));
    text = fmt::format("threshold:{}", tau);
  } else {
    FC_ASSIGN_OR_RETURN(std::string top, p.Str("top"));
    text = fmt::format("{}:{}", selection == "greedy" ? "greedy" : "top", top);
  }
  if (!absolute) text += ",signed";
  auto sel = circuit::Selection::Parse(text);
  if (!sel.ok()) return p.Invalid(selection == "threshold" ? "threshold" : "top", sel.status().message());
  o.selection = *sel;
  return o;
}

StatusOr<DiscoveryResult> DiscoverCircuit(model::CausalLM& model, const text::Tokenizer& tokenizer, int64_t pad_id,
                                          const std::vector<data::TaskRow>& rows, const DiscoveryOptions& o,
                                          const DiscoveryProgress& progress, const DiscoveryCancel& cancel) {
  if (rows.empty()) return InvalidArgumentError("discover: no rows");
  FC_ASSIGN_OR_RETURN(auto circuit_rows, data::BuildCircuitBatchRows(tokenizer, rows, o.prompt));
  std::vector<attribution::TokenizedRow> tok;
  tok.reserve(circuit_rows.size());
  for (const auto& r : circuit_rows) tok.push_back({r.clean_ids, r.corrupted_ids, r.label_id, -1});
  try {
    if (o.attribution.metric.kind != attribution::MetricKind::kKl) {
      FC_RETURN_IF_ERROR(FillIncorrectTokens(model, &tok, pad_id, o.batch_size));
    }
    FC_ASSIGN_OR_RETURN(auto batches, attribution::MakeBatches(tok, o.batch_size, pad_id));
    const circuit::GraphLayout layout(attribution::GraphConfigOf(model.config()));
    DiscoveryResult r;
    r.examples = attribution::CountRows(batches);

    Stopwatch attribution_time;
    torch::Tensor dense;
    for (size_t i = 0; i < batches.size(); ++i) {
      if (cancel && cancel()) return CancelledError("discover cancelled after {} of {} batches", i, batches.size());
      FC_ASSIGN_OR_RETURN(torch::Tensor part, attribution::AttributeDense(model, {batches[i]}, o.attribution));
      part = part.to(torch::kCPU, torch::kFloat64) * static_cast<double>(batches[i].size());
      dense = dense.defined() ? dense + part : part;
      if (progress) progress(static_cast<int64_t>(i) + 1, static_cast<int64_t>(batches.size()));
    }
    dense = (dense / static_cast<double>(r.examples)).to(torch::kFloat32);
    r.attribution_seconds = attribution_time.Seconds();

    Stopwatch selection_time;
    FC_ASSIGN_OR_RETURN(r.circuit, circuit::MakeCircuit(attribution::ToEdgeScores(layout, dense)));
    FC_RETURN_IF_ERROR(circuit::Select(layout, o.selection, &r.circuit));
    FC_ASSIGN_OR_RETURN(r.collapsed, circuit::Collapse(layout, r.circuit));
    r.selection_seconds = selection_time.Seconds();

    if (cancel && cancel()) return CancelledError("discover cancelled before evaluation");
    Stopwatch evaluation_time;
    attribution::EvaluationOptions eo;
    eo.metric = o.attribution.metric;
    FC_ASSIGN_OR_RETURN(r.evaluation,
                        attribution::EvaluateCircuit(model, batches, attribution::MaskOf(r.circuit), eo));
    r.evaluation_seconds = evaluation_time.Seconds();
    return r;
  } catch (const c10::Error& e) {
    return InternalError("discover: {}", e.what_without_backtrace());
  }
}

nlohmann::json DiscoverySummary(const DiscoveryResult& r, const DiscoveryOptions& o) {
  const auto& e = r.evaluation;
  return {{"examples", r.examples},
          {"method", attribution::MethodName(o.attribution.method)},
          {"metric", attribution::MetricKindName(o.attribution.metric.kind)},
          {"ig_steps", o.attribution.ig_steps},
          {"prompt", {{"bos", o.prompt.prepend_bos}, {"newline", o.prompt.append_newline}}},
          {"selection", o.selection.ToString()},
          {"nodes", r.circuit.CountNodes()},
          {"edges", r.circuit.CountEdges()},
          {"collapsed_nodes", r.collapsed.CountNodes()},
          {"collapsed_edges", r.collapsed.CountEdges()},
          {"total_edges", circuit::GraphLayout(r.circuit.cfg()).n_edges()},
          {"faithfulness",
           {{"kl_pct", Finite(e.kl_faithfulness_pct)},
            {"kl_defined", e.kl_defined},
            {"normalized", Finite(e.normalized_faithfulness)},
            {"normalized_defined", e.normalized_defined},
            {"kl_baseline", e.kl_baseline},
            {"kl_circuit", e.kl_circuit},
            {"metric_clean", e.metric_clean},
            {"metric_corrupted", e.metric_corrupted},
            {"metric_circuit", e.metric_circuit}}},
          {"accuracy",
           {{"clean", Finite(e.accuracy_clean)},
            {"corrupted", Finite(e.accuracy_corrupted)},
            {"circuit", Finite(e.accuracy_circuit)}}},
          {"timings",
           {{"attribution_s", r.attribution_seconds},
            {"selection_s", r.selection_seconds},
            {"evaluation_s", r.evaluation_seconds}}}};
}

Status WriteCircuitFolder(const std::string& dir, const DiscoveryResult& r, const DiscoveryOptions& o,
                          const std::vector<data::TaskRow>& rows, const nlohmann::json& extra) {
  FC_RETURN_IF_ERROR(MakeDir(dir));
  FC_RETURN_IF_ERROR(circuit::WriteCircuitJson(r.circuit, circuit::JsonDialect::kEapOld, dir + "/circuit.json"));
  FC_RETURN_IF_ERROR(
      circuit::WriteCollapsedJson(r.collapsed, circuit::JsonDialect::kEapOld, dir + "/circuit_collapsed.json"));
  FC_RETURN_IF_ERROR(circuit::WriteDot(circuit::CollapsedToDot(r.collapsed), dir + "/circuit.dot"));
  FC_RETURN_IF_ERROR(data::WriteCircuitJsonl(dir + "/data.jsonl", rows));
  nlohmann::json summary = DiscoverySummary(r, o);
  if (extra.is_object()) summary.update(extra);
  return WriteJsonFile(dir + "/summary.json", summary);
}

StatusOr<circuit::CollapsedCircuit> ReadCollapsedInput(const JobParams& params, const std::string& param,
                                                       const std::string& path) {
  std::string file = path;
  if (IsDir(path + "/circuit")) file = path + "/circuit";  // a discover/merge job's output folder
  const std::string dir = file;
  if (IsDir(dir)) {
    const std::string path = dir;
    file = IsFile(path + "/circuit_collapsed.json") ? path + "/circuit_collapsed.json" : path + "/circuit.json";
    if (!IsFile(file)) return params.Invalid(param, fmt::format("'{}' holds no circuit_collapsed.json or circuit.json", path));
  }
  auto c = circuit::ReadCollapsedCircuitJson(file);
  if (!c.ok()) return params.Invalid(param, c.status().message());
  return c;
}

}  // namespace fc::jobs
