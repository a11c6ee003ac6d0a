// `train_base`: trains a small GPT-NeoX / GPT-2 from scratch on the dataset's rows
// (worker/finetune/train_base.h), so the quickstart needs no hub download. Output folder
// model/ (config.json, model.safetensors, tokenizer.json, train_base.json); output `model`.
// The char tokenizer gets number tokens up to 2 * the dataset's max_operand (read from the
// dataset's metadata; 100 when unknown), the same tokenizer the dataset kind generated with.
#include <cmath>

#include "worker/finetune/train_base.h"
#include "worker/jobs/executors.h"
#include "worker/jobs/job_io.h"
#include "worker/jobs/rows_input.h"

namespace fc::jobs {
namespace {

class TrainBaseExecutor : public agent::Executor {
 public:
  Status Run(agent::JobContext& ctx) override {
    FC_ASSIGN_OR_RETURN(JobParams p, JobParams::Resolve("train_base", ctx.params()));
    finetune::TrainBaseParams tp;
    FC_ASSIGN_OR_RETURN(tp.arch, p.Str("arch"));
    FC_ASSIGN_OR_RETURN(tp.layers, p.Int("layers"));
    FC_ASSIGN_OR_RETURN(tp.heads, p.Int("heads"));
    FC_ASSIGN_OR_RETURN(tp.d_model, p.Int("d_model"));
    FC_ASSIGN_OR_RETURN(tp.d_mlp, p.Int("d_mlp"));
    FC_ASSIGN_OR_RETURN(tp.max_positions, p.Int("max_positions"));
    FC_ASSIGN_OR_RETURN(tp.steps, p.Int("steps"));
    FC_ASSIGN_OR_RETURN(tp.lr, p.Float("lr"));
    FC_ASSIGN_OR_RETURN(tp.batch_size, p.Int("batch_size"));
    FC_ASSIGN_OR_RETURN(tp.only_operator, p.Str("only_operator"));
    FC_ASSIGN_OR_RETURN(int64_t seed, p.Int("seed"));
    tp.seed = static_cast<uint64_t>(seed);
    tp.warmup_steps = std::min<int64_t>(tp.warmup_steps, std::max<int64_t>(1, tp.steps / 10));
    FC_ASSIGN_OR_RETURN(std::string data_path, ResolveInput(ctx, p, "data"));
    FC_ASSIGN_OR_RETURN(tp.rows, ReadRowsInput(p, "data", data_path, "ft.jsonl"));
    if (auto meta = DatasetMeta(ctx, p, "data", data_path)) {
      tp.max_operand = meta->value("max_operand", int64_t{100});
    }
    FC_ASSIGN_OR_RETURN(std::string device, ParseDeviceChecked(ctx, p));
    tp.out_dir = ctx.output_dir() + "/model";

    const int64_t total = tp.steps;
    auto progress = [&](int64_t step, double loss) {
      ctx.ReportProgress(0.95 * static_cast<double>(step) / static_cast<double>(total),
                         fmt::format("step {}/{} loss {:.4f}", step, total, loss),
                         {{"step", step}, {"steps", total}, {"loss", std::isfinite(loss) ? loss : 0.0}});
    };
    auto cancel = [&ctx] { return ctx.cancelled(); };
    auto r = finetune::TrainBase(tp, progress, cancel);
    if (!r.ok()) return r.status();
    AddPathOutput(ctx, "model", "model", tp.out_dir);
    nlohmann::json result = {{"steps", r->steps},           {"parameters", r->parameters},
                             {"final_loss", r->final_loss}, {"heldout_accuracy", r->heldout_accuracy},
                             {"seconds", r->seconds},       {"tokens_per_step", r->tokens_per_step},
                             {"device", device}};
    ctx.SetResult(result);
    ctx.ReportProgress(1.0, fmt::format("trained {} steps, held-out accuracy {:.3f}", r->steps, r->heldout_accuracy));
    return Status::OK();
  }

 private:
  // train_base trains on the CPU (the model is tiny); a CUDA request is accepted and noted.
  static StatusOr<std::string> ParseDeviceChecked(const agent::JobContext& ctx, const JobParams& p) {
    return std::string("cpu") + (ResolveDeviceName(ctx, p) == "cpu" ? "" : " (tiny model: trained on the CPU)");
  }
};

}  // namespace

std::unique_ptr<agent::Executor> MakeTrainBaseExecutor() { return std::make_unique<TrainBaseExecutor>(); }

}  // namespace fc::jobs
