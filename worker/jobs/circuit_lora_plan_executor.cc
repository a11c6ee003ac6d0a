// `circuit_lora_plan`: CircuitLoRA's rank plan (algorithms.md 8) from the collapsed circuits
// before and after a preliminary fine-tuning run: per-layer edge-change sums, critical layers
// (top_k > 0: the K largest; 0: mean + std rule), rank r_c / alpha_c on the critical layers'
// modules and r_o / alpha elsewhere. Output plan.json (the rank map of
// docs/design/contracts.md that finetune's method circuit_lora reads); output `plan`.
#include "common/circuit/circuit_lora_plan.h"
#include "common/circuit/json_format.h"
#include "worker/jobs/circuit_shape.h"
#include "worker/jobs/discovery.h"
#include "worker/jobs/executors.h"
#include "worker/jobs/job_io.h"

namespace fc::jobs {
namespace {

class CircuitLoraPlanExecutor : public agent::Executor {
 public:
  Status Run(agent::JobContext& ctx) override {
    FC_ASSIGN_OR_RETURN(JobParams p, JobParams::Resolve("circuit_lora_plan", ctx.params(), {"model"}));
    FC_ASSIGN_OR_RETURN(std::string before_path, ResolveInput(ctx, p, "base_circuit"));
    FC_ASSIGN_OR_RETURN(std::string after_path, ResolveInput(ctx, p, "tuned_circuit"));
    FC_ASSIGN_OR_RETURN(auto before, ReadCollapsedInput(p, "base_circuit", before_path));
    FC_ASSIGN_OR_RETURN(auto after, ReadCollapsedInput(p, "tuned_circuit", after_path));
    circuit::CircuitLoraOptions o;
    FC_ASSIGN_OR_RETURN(o.shape, CircuitModelShape(ctx, p, "base_circuit", before_path));
    FC_ASSIGN_OR_RETURN(int64_t top_k, p.Int("top_k"));
    o.top_k = static_cast<int>(top_k);
    o.rule = circuit::CriticalRuleForTopK(o.top_k);
    FC_ASSIGN_OR_RETURN(o.r_o, p.Int("r_o"));
    FC_ASSIGN_OR_RETURN(o.r_c, p.Int("r_c"));
    FC_ASSIGN_OR_RETURN(o.alpha, p.Float("alpha"));
    FC_ASSIGN_OR_RETURN(o.alpha_c, p.Float("alpha_c"));
    if (o.top_k > o.shape.n_layers) {
      return p.Invalid("top_k", fmt::format("must be at most the model's {} layers, got {}", o.shape.n_layers, o.top_k));
    }
    auto plan = circuit::PlanCircuitLora(before, after, o);
    if (!plan.ok()) return p.Invalid("tuned_circuit", plan.status().message());
    const std::string path = ctx.output_dir() + "/plan.json";
    FC_RETURN_IF_ERROR(circuit::WriteFileAtomically(path, circuit::PlanToJson(*plan)));
    AddPathOutput(ctx, "plan", "file", path);
    ctx.SetResult({{"critical_layers", plan->critical_layers},
                   {"layer_deltas", plan->layer_delta},
                   {"n_delta_edges", plan->n_delta_edges},
                   {"trainable_params", plan->params.trainable},
                   {"base_params", plan->params.base},
                   {"param_ratio", plan->params.ratio()}});
    ctx.ReportProgress(1.0, fmt::format("{} critical layers", plan->critical_layers.size()));
    return Status::OK();
  }
};

}  // namespace

std::unique_ptr<agent::Executor> MakeCircuitLoraPlanExecutor() { return std::make_unique<CircuitLoraPlanExecutor>(); }

}  // namespace fc::jobs
