// `evaluate` (algorithms.md 6.8): exact-match accuracy and answer loss of a model (a model job,
// or a finetune job's final weights) on rows in the fine-tuning format: the prompt is
// input + "\n", correct = greedy decoding reproduces the answer tokens
// (finetune::EvaluateHeldOut, teacher-forced). A dataset folder means its circuit split (the
// paper's held-out set). Output report.json; output `report`; result = the same numbers.
#include "worker/finetune/evaluate.h"
#include "worker/finetune/finetune_data.h"
#include "worker/jobs/executors.h"
#include "worker/jobs/job_io.h"
#include "worker/jobs/loaded_model.h"
#include "worker/jobs/rows_input.h"

namespace fc::jobs {
namespace {

class EvaluateExecutor : public agent::Executor {
 public:
  Status Run(agent::JobContext& ctx) override {
    FC_ASSIGN_OR_RETURN(JobParams p, JobParams::Resolve("evaluate", ctx.params()));
    FC_ASSIGN_OR_RETURN(std::string model_dir, ResolveInput(ctx, p, "model"));
    FC_ASSIGN_OR_RETURN(std::string data_path, ResolveInput(ctx, p, "data"));
    FC_ASSIGN_OR_RETURN(auto rows, ReadRowsInput(p, "data", data_path, "circuit.jsonl"));
    FC_ASSIGN_OR_RETURN(int64_t batch_size, p.Int("batch_size"));
    FC_ASSIGN_OR_RETURN(torch::Device device, ParseTorchDevice(p, ResolveDeviceName(ctx, p)));
    FC_ASSIGN_OR_RETURN(LoadedModel m, LoadModel(p, "model", model_dir, "", device));
    auto examples = finetune::BuildEvalExamples(*m.tokenizer, rows);
    if (!examples.ok()) return p.Invalid("data", examples.status().message());
    // Batch by batch so progress is visible and a cancel stops it between batches.
    finetune::EvalResult total;
    double loss_sum = 0;
    for (size_t start = 0; start < examples->size(); start += static_cast<size_t>(batch_size)) {
      if (ctx.cancelled()) return CancelledError("evaluate cancelled after {} rows", start);
      const size_t end = std::min(examples->size(), start + static_cast<size_t>(batch_size));
      std::vector<finetune::EvalExample> part(examples->begin() + start, examples->begin() + end);
      auto r = finetune::EvaluateHeldOut(*m.model, part, batch_size, m.pad_id);
      if (!r.ok()) return r.status().code() == StatusCode::kInvalidArgument ? p.Invalid("data", r.status().message())
                                                                             : r.status();
      total.correct += r->correct;
      total.total += r->total;
      loss_sum += r->loss * static_cast<double>(r->total);
      ctx.ReportProgress(static_cast<double>(end) / examples->size() * 0.98,
                         fmt::format("{}/{} rows", end, examples->size()));
    }
    total.accuracy = total.total ? static_cast<double>(total.correct) / total.total : 0.0;
    total.loss = total.total ? loss_sum / total.total : 0.0;
    nlohmann::json report = {{"accuracy", total.accuracy}, {"loss", total.loss}, {"correct", total.correct},
                             {"total", total.total},       {"model", model_dir}};
    const std::string path = ctx.output_dir() + "/report.json";
    FC_RETURN_IF_ERROR(WriteJsonFile(path, report));
    AddPathOutput(ctx, "report", "report", path);
    ctx.SetResult(report);
    ctx.ReportProgress(1.0, fmt::format("accuracy {:.3f} ({}/{})", total.accuracy, total.correct, total.total));
    return Status::OK();
  }
};

}  // namespace

std::unique_ptr<agent::Executor> MakeEvaluateExecutor() { return std::make_unique<EvaluateExecutor>(); }

}  // namespace fc::jobs
