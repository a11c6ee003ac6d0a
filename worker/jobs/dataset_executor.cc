// `dataset`: generates a task's clean/corrupted/label rows and splits them (algorithms.md 1).
// Output folder: ft.jsonl (fine-tune split), circuit.jsonl (circuit split), dataset.json
// (generation metadata), robustness/split-<i>.jsonl when robustness_splits > 0.
// Outputs: ft, circuit (files), robustness (folder, only when asked for).
#include "worker/data/dataset.h"
#include "worker/data/row_io.h"
#include "worker/data/splits.h"
#include "worker/jobs/executors.h"
#include "worker/jobs/job_io.h"
#include "worker/jobs/rows_input.h"
#include "worker/tokenizer/tokenizer.h"

namespace fc::jobs {
namespace {

class DatasetExecutor : public agent::Executor {
 public:
  Status Run(agent::JobContext& ctx) override {
    FC_ASSIGN_OR_RETURN(JobParams p, JobParams::Resolve("dataset", ctx.params()));
    FC_ASSIGN_OR_RETURN(std::string task_name, p.Str("task"));
    auto task = data::ParseTask(task_name);
    if (!task.ok()) return p.Invalid("task", task.status().message());
    data::DatasetSpec spec;
    spec.task.task = *task;
    FC_ASSIGN_OR_RETURN(spec.task.size, p.Int("size"));
    FC_ASSIGN_OR_RETURN(int64_t seed, p.Int("seed"));
    spec.task.seed = static_cast<uint64_t>(seed);
    spec.split_seed = static_cast<uint64_t>(seed);
    FC_ASSIGN_OR_RETURN(spec.task.max_operand, p.Int("max_operand"));
    FC_ASSIGN_OR_RETURN(spec.task.operators, p.Str("operators"));
    FC_ASSIGN_OR_RETURN(spec.task.prefix, p.Bool("prefix"));
    if (spec.task.operators != "+-" && spec.task.task != data::Task::kAddSub) {
      return p.Invalid("operators", "only the add_sub task has a choice of operators");
    }
    FC_ASSIGN_OR_RETURN(double fraction, p.Float("circuit_fraction"));
    spec.circuit_fraction = fraction;
    FC_ASSIGN_OR_RETURN(int64_t robustness_splits, p.Int("robustness_splits"));

    // The char tokenizer matches train_base's: number tokens up to 2 * max_operand, so every
    // answer is a single token (docs/jobs.md).
    FC_ASSIGN_OR_RETURN(std::string tokenizer_path, p.Str("tokenizer"));
    std::unique_ptr<text::Tokenizer> tok;
    if (tokenizer_path.empty()) {
      text::CharTokenizerOptions topt;
      topt.max_number_token = 2 * spec.task.max_operand;
      tok = text::MakeCharTokenizer(text::DefaultCharAlphabet(), topt);
    } else {
      std::string file = IsDir(tokenizer_path) ? tokenizer_path + "/tokenizer.json" : tokenizer_path;
      auto loaded = text::Tokenizer::FromFile(file);
      if (!loaded.ok()) return p.Invalid("tokenizer", loaded.status().message());
      tok = std::move(loaded).value();
    }
    ctx.ReportProgress(0.05, "generating " + task_name);
    auto split = data::MakeDataset(spec, *tok);
    if (!split.ok()) return split.status().code() == StatusCode::kInvalidArgument
                                ? p.Invalid("size", split.status().message())
                                : split.status();
    if (ctx.cancelled()) return CancelledError("dataset cancelled");
    const std::string out = ctx.output_dir();
    FC_RETURN_IF_ERROR(data::WriteDatasetDir(out, *split));
    nlohmann::json meta = {{"task", task_name},
                           {"max_operand", spec.task.max_operand},
                           {"operators", spec.task.operators},
                           {"prefix", spec.task.prefix},
                           {"size", spec.task.size},
                           {"seed", seed},
                           {"circuit_fraction", fraction},
                           {"tokenizer", tokenizer_path.empty() ? "char" : tokenizer_path},
                           {"rows_ft", split->finetune.size()},
                           {"rows_circuit", split->circuit.size()},
                           {"robustness_splits", robustness_splits}};
    if (robustness_splits > 0) {
      auto parts = data::RobustnessSplits(*split, static_cast<int>(robustness_splits), spec.split_seed);
      if (!parts.ok()) return p.Invalid("robustness_splits", parts.status().message());
      FC_RETURN_IF_ERROR(MakeDir(out + "/robustness"));
      for (size_t i = 0; i < parts->size(); ++i) {
        FC_RETURN_IF_ERROR(data::WriteCircuitJsonl(fmt::format("{}/robustness/split-{}.jsonl", out, i), (*parts)[i]));
      }
      meta["robustness_rows"] = parts->empty() ? 0 : (*parts)[0].size();
    }
    FC_RETURN_IF_ERROR(WriteJsonFile(out + "/" + kDatasetMetaFile, meta));
    AddPathOutput(ctx, "ft", "dataset", out + "/" + data::kFinetuneFile);
    AddPathOutput(ctx, "circuit", "dataset", out + "/" + data::kCircuitFile);
    if (robustness_splits > 0) AddPathOutput(ctx, "robustness", "dataset", out + "/robustness");
    ctx.SetResult(meta);
    ctx.ReportProgress(1.0, fmt::format("{} ft rows, {} circuit rows", split->finetune.size(), split->circuit.size()));
    return Status::OK();
  }
};

}  // namespace

std::unique_ptr<agent::Executor> MakeDatasetExecutor() { return std::make_unique<DatasetExecutor>(); }

}  // namespace fc::jobs
