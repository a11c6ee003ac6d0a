// `finetune`: LoRA, CircuitLoRA (with a plan from circuit_lora_plan) or full fine-tuning
// (worker/finetune/trainer.h) with checkpoints and lineage.
//
// Output folder:
//   checkpoints/checkpoint-<step>/  one per checkpoint_every steps, plus step 0 (the untouched
//                                   base) and the last step; each holds checkpoint.json (lineage:
//                                   parent, step, held-out loss/accuracy), the PEFT adapter (LoRA
//                                   methods) or the HF model (full), and the trainer state
//   model/                          the final weights as an HF folder (LoRA: merged into the base)
//   adapter/                        the final PEFT adapter (LoRA methods)
//   base/                           the base model (hard links; LoRA methods), so a later
//                                   reextract can merge the adapters without another input
//   finetune.json                   loss curve, grad norms, counts
// Outputs, in this order: model, adapter, checkpoints, last, base, checkpoint-<step>...
// Every checkpoint is ALSO reported as soon as it is on disk, through ReportProgress metrics
// {"checkpoint": {"step", "path", "parent", "name", "loss", "accuracy"}}, so the coordinator can
// fan out discovery while training continues (the trainer writes it right after the step's
// progress callback, so it is seen at the next step, or after the run for the last one).
// Resume: params.resume_from = local path of a checkpoint folder of an earlier attempt; it and
// its earlier siblings are linked into checkpoints/ and the trainer continues from it. The
// linked-in checkpoints are announced again like new ones (so a host whose earlier upload
// failed still gets them stored); the coordinator keeps the attempt that made each one.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "common/circuit/tracking.h"
#include "worker/finetune/checkpointer.h"
#include "worker/finetune/finetune_data.h"
#include "worker/finetune/lora.h"
#include "worker/finetune/rank_map.h"
#include "worker/finetune/trainer.h"
#include "worker/jobs/executors.h"
#include "worker/jobs/job_io.h"
#include "worker/jobs/loaded_model.h"
#include "worker/jobs/rows_input.h"

namespace fc::jobs {
namespace {

namespace fs = std::filesystem;

double OrZero(double x) { return std::isfinite(x) ? x : 0.0; }

// Links checkpoint folders of `resume_from`'s parent with a step <= its own into `dst`.
Status SeedFromCheckpoint(const JobParams& p, const std::string& resume_from, const std::string& dst) {
  std::string src = resume_from;
  while (src.size() > 1 && src.back() == '/') src.pop_back();
  auto info = finetune::ReadCheckpointInfo(src);
  if (!info.ok()) return p.Invalid("resume_from", info.status().message());
  FC_RETURN_IF_ERROR(MakeDir(dst));
  const std::string parent = fs::path(src).parent_path().string();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(parent.empty() ? "." : parent, ec)) {
    auto step = circuit::CheckpointStep(e.path().filename().string());
    if (!e.is_directory(ec) || !step || *step > info->step) continue;
    if (!IsFile(e.path().string() + "/" + finetune::kCheckpointInfoFile)) continue;
    FC_RETURN_IF_ERROR(LinkOrCopyTree(e.path().string(), dst + "/" + e.path().filename().string()));
  }
  return Status::OK();
}

class FinetuneExecutor : public agent::Executor {
 public:
  Status Run(agent::JobContext& ctx) override {
    FC_ASSIGN_OR_RETURN(JobParams p, JobParams::Resolve("finetune", ctx.params(), {"resume_from"}));
    finetune::FinetuneParams fp;
    FC_ASSIGN_OR_RETURN(std::string method, p.Str("method"));
    auto m = finetune::ParseFinetuneMethod(method);
    if (!m.ok()) return p.Invalid("method", m.status().message());
    fp.method = *m;
    FC_ASSIGN_OR_RETURN(fp.rank, p.Int("rank"));
    FC_ASSIGN_OR_RETURN(fp.alpha, p.Float("alpha"));
    FC_ASSIGN_OR_RETURN(fp.lora_dropout, p.Float("dropout"));
    if (fp.lora_dropout >= 1.0) return p.Invalid("dropout", "must be in [0, 1)");
    FC_ASSIGN_OR_RETURN(fp.lr, p.Float("lr"));
    FC_ASSIGN_OR_RETURN(double lr_critical, p.Float("lr_critical"));
    FC_ASSIGN_OR_RETURN(fp.epochs, p.Int("epochs"));
    FC_ASSIGN_OR_RETURN(fp.max_steps, p.Int("steps"));
    FC_ASSIGN_OR_RETURN(fp.batch_size, p.Int("batch_size"));
    FC_ASSIGN_OR_RETURN(fp.grad_accum, p.Int("grad_accum"));
    FC_ASSIGN_OR_RETURN(fp.warmup_steps, p.Int("warmup"));
    FC_ASSIGN_OR_RETURN(fp.weight_decay, p.Float("weight_decay"));
    FC_ASSIGN_OR_RETURN(fp.checkpoint_every, p.Int("checkpoint_every"));
    FC_ASSIGN_OR_RETURN(int64_t max_length, p.Int("max_length"));
    FC_ASSIGN_OR_RETURN(int64_t seed, p.Int("seed"));
    fp.seed = static_cast<uint64_t>(seed);
    fp.job_id = ctx.job_id();

    if (fp.method == finetune::FinetuneMethod::kCircuitLora) {
      FC_ASSIGN_OR_RETURN(std::string plan_path, ResolveInput(ctx, p, "plan"));
      if (IsDir(plan_path)) plan_path += "/plan.json";
      auto plan = finetune::ReadRankMap(plan_path);
      if (!plan.ok()) return p.Invalid("plan", plan.status().message());
      // The job's learning rates win over the plan's defaults (lr_critical 0 = lr).
      plan->lr_other = fp.lr;
      plan->lr_critical = lr_critical > 0 ? lr_critical : fp.lr;
      fp.rank_map = *plan;
    }

    FC_ASSIGN_OR_RETURN(std::string model_dir, ResolveInput(ctx, p, "model"));
    FC_ASSIGN_OR_RETURN(std::string data_path, ResolveInput(ctx, p, "data"));
    FC_ASSIGN_OR_RETURN(auto rows, ReadRowsInput(p, "data", data_path, "ft.jsonl"));
    std::vector<data::TaskRow> eval_rows;
    if (p.Has("eval_data")) {
      FC_ASSIGN_OR_RETURN(std::string eval_path, ResolveInput(ctx, p, "eval_data"));
      FC_ASSIGN_OR_RETURN(eval_rows, ReadRowsInput(p, "eval_data", eval_path, "circuit.jsonl"));
    }
    FC_ASSIGN_OR_RETURN(torch::Device device, ParseTorchDevice(p, ResolveDeviceName(ctx, p)));
    FC_ASSIGN_OR_RETURN(std::string resume_from, p.OptStr("resume_from"));

    const std::string out = ctx.output_dir();
    const std::string ckpt_dir = out + "/checkpoints";
    if (!resume_from.empty()) FC_RETURN_IF_ERROR(SeedFromCheckpoint(p, resume_from, ckpt_dir));
    fp.output_dir = ckpt_dir;
    fp.resume = !resume_from.empty();
    fp.base_model = model_dir;

    ctx.ReportProgress(0.01, "loading model");
    FC_ASSIGN_OR_RETURN(LoadedModel lm, LoadModel(p, "model", model_dir, "", device));
    fp.pad_id = lm.pad_id;
    fp.tokenizer_json = lm.tokenizer_path;
    finetune::ExampleOptions eo;
    eo.max_length = max_length;
    auto train = finetune::BuildTrainExamples(*lm.tokenizer, rows, eo);
    if (!train.ok()) return p.Invalid("data", train.status().message());
    auto heldout = finetune::BuildEvalExamples(*lm.tokenizer, eval_rows);
    if (!heldout.ok()) return p.Invalid("eval_data", heldout.status().message());

    const int64_t total = fp.max_steps > 0 ? fp.max_steps
                                           : fp.epochs * finetune::StepsPerEpoch(static_cast<int64_t>(train->size()),
                                                                                 fp.batch_size, fp.grad_accum);
    std::set<std::string> reported;
    auto report_new_checkpoints = [&](int64_t step) {
      std::error_code ec;
      std::vector<std::pair<int64_t, std::string>> found;
      for (const auto& e : fs::directory_iterator(ckpt_dir, ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("checkpoint-", 0) != 0 || reported.count(name)) continue;
        auto s = circuit::CheckpointStep(name);
        if (s && IsFile(e.path().string() + "/" + finetune::kCheckpointInfoFile)) found.emplace_back(*s, name);
      }
      std::sort(found.begin(), found.end());
      for (const auto& [s, name] : found) {
        auto info = finetune::ReadCheckpointInfo(ckpt_dir + "/" + name);
        if (!info.ok()) continue;
        reported.insert(name);
        nlohmann::json c = {{"step", s},           {"path", ckpt_dir + "/" + name}, {"parent", info->parent},
                            {"name", name},        {"loss", OrZero(info->loss)},    {"accuracy", OrZero(info->accuracy)},
                            {"method", method}};
        ctx.ReportProgress(0.02 + 0.88 * static_cast<double>(step) / static_cast<double>(total),
                           "checkpoint " + name, {{"checkpoint", c}});
      }
    };
    auto progress = [&](int64_t step, double loss) {
      report_new_checkpoints(step - 1);
      ctx.ReportProgress(0.02 + 0.88 * static_cast<double>(step) / static_cast<double>(total),
                         fmt::format("step {}/{} loss {:.4f}", step, total, loss),
                         {{"step", step}, {"steps", total}, {"loss", OrZero(loss)}});
    };
    auto cancel = [&ctx] { return ctx.cancelled(); };
    auto r = finetune::Finetune(*lm.model, *train, *heldout, fp, progress, cancel);
    if (!r.ok()) return r.status();
    report_new_checkpoints(total);

    finetune::Checkpointer checkpointer(ckpt_dir, 0);
    FC_ASSIGN_OR_RETURN(auto checkpoints, checkpointer.List());
    if (checkpoints.empty()) return InternalError("finetune wrote no checkpoint under '{}'", ckpt_dir);
    const std::string last = checkpointer.PathOf(checkpoints.back().name);

    ctx.ReportProgress(0.92, "writing final model");
    const bool lora = fp.method != finetune::FinetuneMethod::kFull;
    if (lora) {
      // The trainer leaves its adapters attached; the final model is the base reloaded with the
      // last checkpoint's adapter merged at its own alpha/r.
      lm.model.reset();
      FC_ASSIGN_OR_RETURN(LoadedModel merged, LoadModel(p, "model", model_dir, last, device));
      FC_RETURN_IF_ERROR(model::SaveCausalLM(*merged.model, out + "/model"));
      FC_RETURN_IF_ERROR(MakeDir(out + "/adapter"));
      for (const char* f : {finetune::kAdapterConfigFile, finetune::kAdapterWeightsFile}) {
        FC_RETURN_IF_ERROR(LinkOrCopyTree(last + "/" + f, out + "/adapter/" + f));
      }
      FC_RETURN_IF_ERROR(LinkOrCopyTree(model_dir, out + "/base"));
    } else {
      FC_RETURN_IF_ERROR(model::SaveCausalLM(*lm.model, out + "/model"));
    }
    FC_RETURN_IF_ERROR(LinkOrCopyTree(lm.tokenizer_path, out + "/model/tokenizer.json"));

    nlohmann::json lineage = nlohmann::json::array();
    for (const auto& c : checkpoints) {
      lineage.push_back({{"name", c.name}, {"parent", c.parent}, {"step", c.step}, {"loss", OrZero(c.loss)},
                         {"accuracy", OrZero(c.accuracy)}});
    }
    nlohmann::json result = {{"method", method},
                             {"total_steps", r->total_steps},
                             {"resumed_from_step", r->resumed_from_step},
                             {"final_loss", OrZero(r->final_loss)},
                             {"final_eval_loss", OrZero(r->final_eval_loss)},
                             {"final_accuracy", OrZero(r->final_accuracy)},
                             {"trainable_params", r->trainable_params},
                             {"base_params", r->base_params},
                             {"trainable_ratio", r->trainable_ratio},
                             {"checkpoints", lineage},
                             {"base_model", model_dir}};
    nlohmann::json curves = result;
    curves["loss_curve"] = r->loss_curve;
    curves["grad_norms"] = r->grad_norms;
    FC_RETURN_IF_ERROR(WriteJsonFile(out + "/finetune.json", curves));

    AddPathOutput(ctx, "model", "model", out + "/model");
    if (lora) AddPathOutput(ctx, "adapter", "adapter", out + "/adapter");
    AddPathOutput(ctx, "checkpoints", "checkpoint", ckpt_dir);
    AddPathOutput(ctx, "last", "checkpoint", last);
    if (lora) AddPathOutput(ctx, "base", "model", out + "/base");
    for (const auto& c : checkpoints) AddPathOutput(ctx, c.name, "checkpoint", checkpointer.PathOf(c.name));
    AddPathOutput(ctx, "curves", "report", out + "/finetune.json");
    ctx.SetResult(result);
    ctx.ReportProgress(1.0, fmt::format("{} steps, held-out accuracy {:.3f}", r->total_steps, r->final_accuracy));
    return Status::OK();
  }
};

}  // namespace

std::unique_ptr<agent::Executor> MakeFinetuneExecutor() { return std::make_unique<FinetuneExecutor>(); }

}  // namespace fc::jobs
