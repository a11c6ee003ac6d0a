// `robustness` (algorithms.md 10): how stable discovery is.
//   * perturbation: for each level in `levels` (%) and each of `seeds` seeds, that share of the
//     rows is replaced by freshly generated rows of the same task (the dataset's metadata gives
//     task and max_operand) and the circuit rediscovered; Jaccard of its edge set (collapsed,
//     in-graph) vs the unperturbed circuit, mean/min/max over seeds.
//   * splits: the rows cut into `splits` disjoint equal parts (>= 2 to run), a circuit each,
//     pairwise Jaccard (mean, min, max, matrix).
// Discovery settings come from the `like` discover job (else discover's defaults).
// Output report.json; output `report`; result = the same numbers.
#include <cmath>
#include <filesystem>

#include "common/circuit/diff.h"
#include "common/circuit/robustness.h"
#include "worker/data/splits.h"
#include "worker/data/tasks.h"
#include "worker/jobs/discovery.h"
#include "worker/jobs/executors.h"
#include "worker/jobs/job_io.h"
#include "worker/jobs/loaded_model.h"
#include "worker/jobs/rows_input.h"

namespace fc::jobs {
namespace {

class RobustnessExecutor : public agent::Executor {
 public:
  Status Run(agent::JobContext& ctx) override {
    FC_ASSIGN_OR_RETURN(JobParams p, JobParams::Resolve("robustness", ctx.params()));
    FC_ASSIGN_OR_RETURN(std::string model_dir, ResolveInput(ctx, p, "model"));
    FC_ASSIGN_OR_RETURN(std::string data_path, ResolveInput(ctx, p, "data"));
    FC_ASSIGN_OR_RETURN(auto rows, ReadRowsInput(p, "data", data_path, "circuit.jsonl"));
    nlohmann::json discover_params = {{"model", "-"}, {"data", "-"}};
    if (p.Has("like")) {
      FC_ASSIGN_OR_RETURN(std::string like_path, ResolveInput(ctx, p, "like", "circuit"));
      std::string dir = IsDir(like_path + "/circuit") ? like_path + "/circuit" : like_path;
      auto summary = ReadJsonFile(dir + "/summary.json");
      if (!summary.ok() || !summary->contains("params")) {
        return p.Invalid("like", fmt::format("'{}' is not a discover circuit folder (no summary.json with params)", dir));
      }
      discover_params = summary->at("params");
    }
    auto dp = JobParams::Resolve("discover", discover_params);
    if (!dp.ok()) return p.Invalid("like", dp.status().message());
    FC_ASSIGN_OR_RETURN(DiscoveryOptions options, DiscoveryOptionsFromParams(*dp));
    const std::vector<int64_t> levels = p.json().at("levels").get<std::vector<int64_t>>();
    FC_ASSIGN_OR_RETURN(int64_t seeds, p.Int("seeds"));
    FC_ASSIGN_OR_RETURN(int64_t splits, p.Int("splits"));
    data::TaskOptions task;
    bool perturb = false;
    for (int64_t l : levels) perturb = perturb || l > 0;
    if (perturb) {
      auto meta = DatasetMeta(ctx, p, "data", data_path);
      if (!meta) {
        return p.Invalid("data", "perturbation needs the dataset's task: give a dataset job's split or a rows file "
                                 "with dataset.json beside it");
      }
      auto t = data::ParseTask(meta->value("task", std::string()));
      if (!t.ok()) return p.Invalid("data", t.status().message());
      task.task = *t;
      task.max_operand = meta->value("max_operand", int64_t{100});
      task.seed = meta->value("seed", uint64_t{42});
      // Fresh rows look like the dataset's own (same operators, prefix or not).
      task.operators = meta->value("operators", std::string("+-"));
      task.prefix = meta->value("prefix", true);
    }
    if (splits >= 2 && static_cast<int64_t>(rows.size()) < splits) {
      return p.Invalid("splits", fmt::format("{} splits need at least as many rows, have {}", splits, rows.size()));
    }
    FC_ASSIGN_OR_RETURN(torch::Device device, ParseTorchDevice(p, ResolveDeviceName(ctx, p)));
    FC_ASSIGN_OR_RETURN(LoadedModel m, LoadModel(p, "model", model_dir, "", device));

    const int64_t runs = 1 + static_cast<int64_t>(levels.size()) * seeds + (splits >= 2 ? splits : 0);
    int64_t done = 0;
    auto discover = [&](const std::vector<data::TaskRow>& part, const std::string& what)
        -> StatusOr<circuit::CollapsedCircuit> {
      if (ctx.cancelled()) return CancelledError("robustness cancelled before {}", what);
      auto progress = [&](int64_t b, int64_t n) {
        ctx.ReportProgress((done + static_cast<double>(b) / n) / runs * 0.98,
                           fmt::format("{}: IG batch {}/{}", what, b, n), {{"run", done + 1}, {"runs", runs}});
      };
      auto r = DiscoverCircuit(*m.model, *m.tokenizer, m.pad_id, part, options, progress,
                               [&ctx] { return ctx.cancelled(); });
      if (!r.ok()) return r.status();
      ++done;
      return std::move(r->collapsed);
    };

    FC_ASSIGN_OR_RETURN(circuit::CollapsedCircuit reference, discover(rows, "unperturbed"));
    nlohmann::json report = {{"rows", rows.size()}, {"reference_edges", reference.CountEdges()}};
    nlohmann::json per_level = nlohmann::json::array();
    for (int64_t level : levels) {
      std::vector<double> jaccards;
      for (int64_t s = 0; s < seeds; ++s) {
        const uint64_t seed = 1000 + static_cast<uint64_t>(s);
        auto perturbed = level == 0 ? StatusOr<std::vector<data::TaskRow>>(rows)
                                    : data::PerturbWithFreshRows(rows, level / 100.0, task, *m.tokenizer, seed);
        if (!perturbed.ok()) return p.Invalid("levels", perturbed.status().message());
        FC_ASSIGN_OR_RETURN(auto c, discover(*perturbed, fmt::format("level {}% seed {}", level, s)));
        FC_ASSIGN_OR_RETURN(double j, circuit::EdgeJaccard(reference, c));
        jaccards.push_back(j);
      }
      double sum = 0, lo = 1, hi = 0;
      for (double j : jaccards) {
        sum += j;
        lo = std::min(lo, j);
        hi = std::max(hi, j);
      }
      per_level.push_back({{"level", level}, {"jaccard_mean", sum / jaccards.size()}, {"jaccard_min", lo},
                           {"jaccard_max", hi}, {"jaccards", jaccards}});
    }
    report["perturbation"] = per_level;
    if (splits >= 2) {
      std::vector<circuit::CollapsedCircuit> parts;
      const size_t per = rows.size() / static_cast<size_t>(splits);
      for (int64_t i = 0; i < splits; ++i) {
        std::vector<data::TaskRow> part(rows.begin() + i * per, rows.begin() + (i + 1) * per);
        FC_ASSIGN_OR_RETURN(auto c, discover(part, fmt::format("split {}", i)));
        parts.push_back(std::move(c));
      }
      FC_ASSIGN_OR_RETURN(auto pj, circuit::ComputePairwiseJaccard(parts));
      report["splits"] = {{"count", splits}, {"rows_per_split", per}, {"jaccard_mean", pj.mean},
                          {"jaccard_min", pj.min}, {"jaccard_max", pj.max}, {"matrix", pj.matrix}};
    }
    const std::string path = ctx.output_dir() + "/report.json";
    FC_RETURN_IF_ERROR(WriteJsonFile(path, report));
    AddPathOutput(ctx, "report", "report", path);
    ctx.SetResult(report);
    ctx.ReportProgress(1.0, fmt::format("{} discoveries", done));
    return Status::OK();
  }
};

}  // namespace

std::unique_ptr<agent::Executor> MakeRobustnessExecutor() { return std::make_unique<RobustnessExecutor>(); }

}  // namespace fc::jobs
