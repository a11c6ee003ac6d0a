// `reextract` (run as one job): the `like` discover job's settings applied to every checkpoint
// of a finetune job, in step order (checkpoint-0 = the base model, skipped when include_base is
// false). LoRA checkpoints are merged into the base model: param `model` when given, else the
// finetune job's `base` output. Full fine-tuning checkpoints are models themselves.
// Output folder: circuits/checkpoint-<step>/ (a discover circuit folder each) and
// tracking.json (node/edge changes per checkpoint, algorithms.md 7).
// Outputs: circuits (folder), last (the last checkpoint's circuit folder), circuit-<step>...
// (The coordinator may instead fan out one discover job per checkpoint while training runs.)
#include <algorithm>
#include <filesystem>

#include "common/circuit/tracking.h"
#include "worker/jobs/discovery.h"
#include "worker/jobs/executors.h"
#include "worker/jobs/job_io.h"
#include "worker/jobs/loaded_model.h"
#include "worker/jobs/rows_input.h"

namespace fc::jobs {
namespace {

namespace fs = std::filesystem;

std::string Sub(const std::string& dir, const std::string& name) {
  return IsDir(dir + "/" + name) ? dir + "/" + name : dir;
}

class ReextractExecutor : public agent::Executor {
 public:
  Status Run(agent::JobContext& ctx) override {
    FC_ASSIGN_OR_RETURN(JobParams p, JobParams::Resolve("reextract", ctx.params(), {"model"}));
    FC_ASSIGN_OR_RETURN(std::string ft_path, ResolveInput(ctx, p, "finetune", "checkpoints"));
    const std::string ckpt_dir = Sub(ft_path, "checkpoints");
    std::vector<std::pair<int64_t, std::string>> checkpoints;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(ckpt_dir, ec)) {
      auto step = circuit::CheckpointStep(e.path().filename().string());
      if (e.is_directory(ec) && step) checkpoints.emplace_back(*step, e.path().string());
    }
    std::sort(checkpoints.begin(), checkpoints.end());
    FC_ASSIGN_OR_RETURN(bool include_base, p.Bool("include_base"));
    if (!include_base && !checkpoints.empty() && checkpoints.front().first == 0) checkpoints.erase(checkpoints.begin());
    if (checkpoints.empty()) return p.Invalid("finetune", fmt::format("'{}' holds no checkpoint-<step> folders", ckpt_dir));

    FC_ASSIGN_OR_RETURN(std::string like_path, ResolveInput(ctx, p, "like", "circuit"));
    const std::string like_dir = Sub(like_path, "circuit");
    auto like_summary = ReadJsonFile(like_dir + "/summary.json");
    if (!like_summary.ok() || !like_summary->contains("params")) {
      return p.Invalid("like", fmt::format("'{}' is not a discover circuit folder (no summary.json with params)", like_dir));
    }
    auto dp = JobParams::Resolve("discover", like_summary->at("params"));
    if (!dp.ok()) return p.Invalid("like", dp.status().message());
    FC_ASSIGN_OR_RETURN(DiscoveryOptions options, DiscoveryOptionsFromParams(*dp));
    std::vector<data::TaskRow> rows;
    if (p.Has("data")) {
      FC_ASSIGN_OR_RETURN(std::string data_path, ResolveInput(ctx, p, "data"));
      FC_ASSIGN_OR_RETURN(rows, ReadRowsInput(p, "data", data_path, "circuit.jsonl"));
    } else {
      FC_ASSIGN_OR_RETURN(rows, ReadRowsInput(p, "like", like_dir + "/data.jsonl", ""));
    }
    std::string base;
    if (p.Has("model")) {
      FC_ASSIGN_OR_RETURN(base, ResolveInput(ctx, p, "model"));
    } else {
      // Coordinator runs: the finetune job's `base` output. Local runs: the finetune output
      // folder (base/ inside) or its checkpoints folder (base/ beside).
      auto b = ResolveInput(ctx, p, "finetune", "base");
      if (b.ok()) {
        for (const std::string& cand : {*b, *b + "/base", *b + "/../base"}) {
          if (IsFile(cand + "/config.json")) {
            base = cand;
            break;
          }
        }
      }
    }
    FC_ASSIGN_OR_RETURN(torch::Device device, ParseTorchDevice(p, ResolveDeviceName(ctx, p)));

    const std::string out = ctx.output_dir() + "/circuits";
    FC_RETURN_IF_ERROR(MakeDir(out));
    std::vector<std::pair<int64_t, circuit::CollapsedCircuit>> by_step;
    nlohmann::json per_checkpoint = nlohmann::json::array();
    const double n = static_cast<double>(checkpoints.size());
    for (size_t i = 0; i < checkpoints.size(); ++i) {
      const int64_t step = checkpoints[i].first;
      const std::string path = checkpoints[i].second;
      if (ctx.cancelled()) return CancelledError("reextract cancelled at checkpoint {}", step);
      const bool adapter = IsFile(path + "/adapter_config.json");
      if (adapter && base.empty()) {
        return p.Invalid("model", fmt::format("'{}' is a LoRA adapter: give the base model (param 'model') or a "
                                              "finetune output folder with base/", path));
      }
      FC_ASSIGN_OR_RETURN(LoadedModel m,
                          adapter ? LoadModel(p, "model", base, path, device) : LoadModel(p, "finetune", path, "", device));
      auto progress = [&](int64_t batch, int64_t batches) {
        ctx.ReportProgress((static_cast<double>(i) + static_cast<double>(batch) / batches) / n * 0.95,
                           fmt::format("checkpoint-{}: IG batch {}/{}", step, batch, batches),
                           {{"checkpoint_step", step}, {"batch", batch}, {"batches", batches}});
      };
      auto r = DiscoverCircuit(*m.model, *m.tokenizer, m.pad_id, rows, options, progress,
                               [&ctx] { return ctx.cancelled(); });
      if (!r.ok()) return r.status();
      const std::string dir = fmt::format("{}/checkpoint-{}", out, step);
      nlohmann::json extra = {{"params", dp->json()},
                              {"model", ShapeToJson(ShapeOf(m.model->config()))},
                              {"checkpoint", path},
                              {"step", step}};
      FC_RETURN_IF_ERROR(WriteCircuitFolder(dir, *r, options, rows, extra));
      nlohmann::json s = DiscoverySummary(*r, options);
      s["step"] = step;
      s["path"] = dir;
      per_checkpoint.push_back(s);
      by_step.emplace_back(step, std::move(r->collapsed));
      ctx.ReportProgress((static_cast<double>(i) + 1) / n * 0.95, fmt::format("checkpoint-{} done", step),
                         {{"circuit", {{"step", step}, {"path", dir}}}});
    }
    FC_ASSIGN_OR_RETURN(auto track, circuit::TrackCircuits(by_step));
    nlohmann::json tracking = nlohmann::json::array();
    for (const auto& t : track) {
      tracking.push_back({{"step", t.step},
                          {"nodes", t.nodes},
                          {"edges", t.edges},
                          {"nodes_added", t.nodes_added},
                          {"nodes_removed", t.nodes_removed},
                          {"edges_added", t.edges_added},
                          {"edges_removed", t.edges_removed},
                          {"node_jaccard_prev", t.node_jaccard_prev},
                          {"edge_jaccard_prev", t.edge_jaccard_prev},
                          {"node_jaccard_base", t.node_jaccard_base},
                          {"edge_jaccard_base", t.edge_jaccard_base}});
    }
    FC_RETURN_IF_ERROR(WriteJsonFile(ctx.output_dir() + "/tracking.json",
                                     {{"checkpoints", per_checkpoint}, {"tracking", tracking}}));
    AddPathOutput(ctx, "circuits", "circuit", out);
    AddPathOutput(ctx, "last", "circuit", fmt::format("{}/checkpoint-{}", out, checkpoints.back().first));
    for (const auto& [step, path] : checkpoints) {
      AddPathOutput(ctx, fmt::format("circuit-{}", step), "circuit", fmt::format("{}/checkpoint-{}", out, step));
    }
    AddPathOutput(ctx, "tracking", "report", ctx.output_dir() + "/tracking.json");
    ctx.SetResult({{"checkpoints", per_checkpoint}, {"tracking", tracking}});
    ctx.ReportProgress(1.0, fmt::format("{} circuits", checkpoints.size()));
    return Status::OK();
  }
};

}  // namespace

std::unique_ptr<agent::Executor> MakeReextractExecutor() { return std::make_unique<ReextractExecutor>(); }

}  // namespace fc::jobs
