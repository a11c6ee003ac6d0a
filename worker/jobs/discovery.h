// Circuit discovery as one call (the `discover` kind's engine part, reused by reextract and
// robustness): rows -> tokenized batches (prompt_format: BOS + input + "\n" by default, algorithms.md 3.1, 12.1) -> attribution
// (EAP / EAP-IG ...) -> selection (top-n, top %, threshold, greedy; pruned) -> q/k/v collapse
// -> patched evaluation (faithfulness both ways, accuracy).
//
// Attribution runs batch by batch so progress ("IG batch i/n") is reported and cancellation is
// honoured between batches. With per-example weighting (the default) the score is the sum over
// examples / N, so combining batch results weighted by their size is the same quantity as one
// call over all batches (equal up to float rounding).
//
// The circuit folder written by WriteCircuitFolder (docs/jobs.md):
//   circuit.json            every edge's score + in_graph flags of the selection (EAP-IG JSON, full)
//   circuit_collapsed.json  the selected circuit with q/k/v collapsed (FC collapse_qkv form)
//   circuit.dot             Graphviz picture of the collapsed circuit
//   summary.json            nodes, edges, faithfulness (kl % and normalized), accuracy, timings,
//                           params, model shape
//   data.jsonl              the circuit rows used (so reextract can reuse them)
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/circuit/circuit.h"
#include "common/circuit/collapsed.h"
#include "common/circuit/selection.h"
#include "common/status.h"
#include "worker/attribution/evaluation.h"
#include "worker/attribution/options.h"
#include "worker/data/circuit_rows.h"
#include "worker/data/task_row.h"
#include "worker/jobs/job_params.h"
#include "worker/model/causal_lm.h"
#include "worker/tokenizer/tokenizer.h"

namespace fc::jobs {

struct DiscoveryOptions {
  attribution::AttributionOptions attribution;
  circuit::Selection selection;
  int64_t batch_size = 32;
  // How prompts are tokenized (param `prompt_format`, algorithms.md 12.1): "ft" = BOS + input +
  // "\n", the position a fine-tuned model answers from (default); "ft_nobos" = input + "\n",
  // exactly what fine-tuning and evaluate feed (models trained without BOS, like train_base's);
  // "paper" = BOS + input, scored right after " =" as the original EAP-IG code does.
  data::CircuitPromptOptions prompt;
};

// From discover-style params (method, ig_steps, metric, selection, top, threshold, absolute,
// batch_size, prompt_format). Errors name the param.
StatusOr<DiscoveryOptions> DiscoveryOptionsFromParams(const JobParams& params);

struct DiscoveryResult {
  circuit::Circuit circuit;              // every edge's score, selection applied
  circuit::CollapsedCircuit collapsed;   // q/k/v collapsed selection
  attribution::EvaluationResult evaluation;
  int64_t examples = 0;
  double attribution_seconds = 0, selection_seconds = 0, evaluation_seconds = 0;
};

using DiscoveryProgress = std::function<void(int64_t batch, int64_t batches)>;
using DiscoveryCancel = std::function<bool()>;

StatusOr<DiscoveryResult> DiscoverCircuit(model::CausalLM& model, const text::Tokenizer& tokenizer,
                                          int64_t pad_id, const std::vector<data::TaskRow>& rows,
                                          const DiscoveryOptions& options,
                                          const DiscoveryProgress& progress = nullptr,
                                          const DiscoveryCancel& cancel = nullptr);

// summary.json's content.
nlohmann::json DiscoverySummary(const DiscoveryResult& r, const DiscoveryOptions& options);

// Writes the circuit folder described above (dir is created). `extra` is merged into
// summary.json (params, model shape, checkpoint...).
Status WriteCircuitFolder(const std::string& dir, const DiscoveryResult& r, const DiscoveryOptions& options,
                          const std::vector<data::TaskRow>& rows, const nlohmann::json& extra);

// A collapsed circuit from a circuit folder (circuit_collapsed.json, else circuit.json) or a
// circuit JSON file of either dialect/form. Errors name `param`.
StatusOr<circuit::CollapsedCircuit> ReadCollapsedInput(const JobParams& params, const std::string& param,
                                                       const std::string& path);

}  // namespace fc::jobs
