// `model`: a user's own HuggingFace folder (e.g. pythia-1.4b-deduped). Validates config.json,
// the tokenizer and every tensor (names and shapes, by loading in bfloat16 on the CPU), then
// outputs the folder as the job's `model` artifact: its files are hard-linked (copied across
// file systems) into model/ under the output dir, so the agent uploads them like any output.
#include <filesystem>

#include "worker/jobs/executors.h"
#include "worker/jobs/job_io.h"
#include "worker/jobs/loaded_model.h"
#include "worker/model/config.h"

namespace fc::jobs {
namespace {

namespace fs = std::filesystem;

bool IsModelFile(const std::string& name) {
  if (name.size() > 12 && name.substr(name.size() - 12) == ".safetensors") return true;
  for (const char* keep : {"config.json", "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json",
                           "special_tokens_map.json", "generation_config.json", "vocab.json", "merges.txt"}) {
    if (name == keep) return true;
  }
  return false;
}

class ModelExecutor : public agent::Executor {
 public:
  Status Run(agent::JobContext& ctx) override {
    FC_ASSIGN_OR_RETURN(JobParams p, JobParams::Resolve("model", ctx.params()));
    FC_ASSIGN_OR_RETURN(std::string dir, p.Str("path"));
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    FC_RETURN_IF_ERROR(ValidateModelFolder(p, "path", dir));
    if (!IsFile(dir + "/tokenizer.json")) {
      return p.Invalid("path", fmt::format("'{}' has no tokenizer.json (the engine reads HF tokenizer.json only)", dir));
    }
    auto tok = text::Tokenizer::FromFile(dir + "/tokenizer.json");
    if (!tok.ok()) return p.Invalid("path", tok.status().message());
    ctx.ReportProgress(0.1, "checking tensors");
    if (ctx.cancelled()) return CancelledError("model cancelled");
    int64_t parameters = 0;
    model::ModelConfig config;
    {
      auto m = model::LoadCausalLM(dir, torch::kCPU, torch::kBFloat16);
      if (!m.ok()) return p.Invalid("path", m.status().message());
      config = (*m)->config();
      for (auto& [name, t] : (*m)->NamedParameters()) parameters += t.numel();
    }
    if ((*tok)->vocab_size() > config.vocab_size) {
      return p.Invalid("path", fmt::format("tokenizer has {} tokens but the model only {}", (*tok)->vocab_size(),
                                           config.vocab_size));
    }
    const std::string out = ctx.output_dir() + "/model";
    FC_RETURN_IF_ERROR(MakeDir(out));
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file(ec) && IsModelFile(name)) FC_RETURN_IF_ERROR(LinkOrCopyTree(e.path().string(), out + "/" + name));
    }
    AddPathOutput(ctx, "model", "model", out);
    ctx.SetResult({{"source", dir},
                   {"parameters", parameters},
                   {"shape", ShapeToJson(ShapeOf(config))},
                   {"n_heads", config.n_heads},
                   {"tokenizer_vocab", (*tok)->vocab_size()}});
    ctx.ReportProgress(1.0, fmt::format("{} parameters", parameters));
    return Status::OK();
  }
};

}  // namespace

std::unique_ptr<agent::Executor> MakeModelExecutor() { return std::make_unique<ModelExecutor>(); }

}  // namespace fc::jobs
