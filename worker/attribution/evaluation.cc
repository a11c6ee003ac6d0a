#include "worker/attribution/evaluation.h"

#include <cmath>
#include <limits>

#include "worker/attribution/graph_of_model.h"
#include "worker/attribution/model_guards.h"

namespace fc::attribution {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool IsZeroDenominator(double den, double scale) {
  return !(std::abs(den) > 1e-12 * std::max(1.0, std::abs(scale)));
}

}  // namespace

std::pair<double, bool> NormalizedFaithfulness(double m_circuit, double m_clean, double m_corr) {
  const double den = m_clean - m_corr;
  if (IsZeroDenominator(den, std::max(std::abs(m_clean), std::abs(m_corr)))) return {kNaN, false};
  return {(m_circuit - m_corr) / den, true};
}

std::pair<double, bool> KlFaithfulnessPercent(double kl_baseline, double kl_circuit) {
  if (IsZeroDenominator(kl_baseline, 0.0)) return {kNaN, false};
  return {(1.0 - std::abs(kl_baseline - kl_circuit) / kl_baseline) * 100.0, true};
}

StatusOr<PatchedLogits> RunPatched(model::CausalLM& model, const Batch& batch,
                                   const CircuitMask& circuit) {
  FC_RETURN_IF_ERROR(ValidateBatchForModel(batch, model.config()));
  FC_ASSIGN_OR_RETURN(circuit::GraphLayout layout,
                      circuit::GraphLayout::Create(GraphConfigOf(model.config())));
  FC_ASSIGN_OR_RETURN(torch::Tensor kept, EffectiveEdgeMask(layout, circuit));
  try {
    torch::NoGradGuard no_grad;
    PatchedLogits out;
    model::Taps corr_taps;
    corr_taps.capture_outputs = true;
    out.corrupted = model.Forward(batch.corrupted_ids, &corr_taps);
    out.clean = model.Forward(batch.clean_ids);
    const bool logits_node_out =
        circuit.nodes.defined() && !circuit.nodes[layout.NodeLogits()].item<bool>();
    const bool no_edge_into_logits =
        !kept.narrow(1, layout.BackwardLogits(), 1).any().item<bool>();
    if (logits_node_out || no_edge_into_logits) {
      out.circuit = out.corrupted;  // the empty circuit (5.1 step 1)
      return out;
    }
    FC_ASSIGN_OR_RETURN(out.circuit, PatchedForward(model, layout, batch.clean_ids,
                                                    corr_taps.outputs, kept));
    return out;
  } catch (const c10::Error& e) {
    return InternalError("evaluation: LibTorch error: {}", e.what_without_backtrace());
  }
}

StatusOr<EvaluationResult> EvaluateCircuit(model::CausalLM& model,
                                           const std::vector<Batch>& batches,
                                           const CircuitMask& circuit,
                                           const EvaluationOptions& options) {
  if (batches.empty()) return InvalidArgumentError("evaluation: no batches");
  EvaluationResult r;
  double sum_clean = 0, sum_corr = 0, sum_circ = 0, sum_kl_b = 0, sum_kl_c = 0;
  int64_t hits_clean = 0, hits_corr = 0, hits_circ = 0;
  bool all_labelled = true;
  try {
    for (const Batch& batch : batches) {
      FC_ASSIGN_OR_RETURN(PatchedLogits logits, RunPatched(model, batch, circuit));
      torch::NoGradGuard no_grad;
      FC_ASSIGN_OR_RETURN(torch::Tensor clean, GatherLastPosition(logits.clean, batch.lengths));
      FC_ASSIGN_OR_RETURN(torch::Tensor corr, GatherLastPosition(logits.corrupted, batch.lengths));
      FC_ASSIGN_OR_RETURN(torch::Tensor circ, GatherLastPosition(logits.circuit, batch.lengths));
      const torch::Tensor& ref = options.reference_is_corrupted ? corr : clean;
      for (auto [last, sum] : {std::pair{&clean, &sum_clean}, std::pair{&corr, &sum_corr},
                               std::pair{&circ, &sum_circ}}) {
        FC_ASSIGN_OR_RETURN(torch::Tensor m, MetricOnLastRows(options.metric, *last, ref,
                                                              batch.labels, batch.incorrect));
        *sum += m.to(torch::kDouble).sum().item<double>();
      }
      sum_kl_b += KlDivergence(corr, clean, options.metric.kl_reduction)
                      .to(torch::kDouble).sum().item<double>();
      sum_kl_c += KlDivergence(corr, circ, options.metric.kl_reduction)
                      .to(torch::kDouble).sum().item<double>();
      torch::Tensor labels = batch.labels.to(torch::kCPU);
      if ((labels < 0).any().item<bool>()) all_labelled = false;
      hits_clean += clean.argmax(-1).cpu().eq(labels).sum().item<int64_t>();
      hits_corr += corr.argmax(-1).cpu().eq(labels).sum().item<int64_t>();
      hits_circ += circ.argmax(-1).cpu().eq(labels).sum().item<int64_t>();
      r.examples += batch.size();
    }
  } catch (const c10::Error& e) {
    return InternalError("evaluation: LibTorch error: {}", e.what_without_backtrace());
  }
  const double n = static_cast<double>(r.examples);
  r.metric_clean = sum_clean / n;
  r.metric_corrupted = sum_corr / n;
  r.metric_circuit = sum_circ / n;
  std::tie(r.normalized_faithfulness, r.normalized_defined) =
      NormalizedFaithfulness(r.metric_circuit, r.metric_clean, r.metric_corrupted);
  r.kl_baseline = sum_kl_b / n;
  r.kl_circuit = sum_kl_c / n;
  std::tie(r.kl_faithfulness_pct, r.kl_defined) = KlFaithfulnessPercent(r.kl_baseline, r.kl_circuit);
  r.accuracy_clean = all_labelled ? hits_clean / n : kNaN;
  r.accuracy_corrupted = all_labelled ? hits_corr / n : kNaN;
  r.accuracy_circuit = all_labelled ? hits_circ / n : kNaN;
  return r;
}

}  // namespace fc::attribution
