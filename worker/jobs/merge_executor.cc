// `merge`: union or intersection of collapsed circuits (algorithms.md 9), an edge in several
// circuits scored by avg / max / min, cut to target_edges by |score| (0 = keep all).
// Output folder circuit/ with circuit_collapsed.json, circuit.dot and summary.json (nodes,
// edges, model shape of the first input when known); output `circuit`.
#include "common/circuit/dot_format.h"
#include "common/circuit/json_format.h"
#include "common/circuit/merge.h"
#include "worker/jobs/circuit_shape.h"
#include "worker/jobs/discovery.h"
#include "worker/jobs/executors.h"
#include "worker/jobs/job_io.h"
#include "worker/jobs/loaded_model.h"

namespace fc::jobs {
namespace {

class MergeExecutor : public agent::Executor {
 public:
  Status Run(agent::JobContext& ctx) override {
    FC_ASSIGN_OR_RETURN(JobParams p, JobParams::Resolve("merge", ctx.params()));
    const nlohmann::json& list = p.json().at("circuits");
    std::vector<circuit::CollapsedCircuit> circuits;
    std::vector<std::string> paths;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string name = fmt::format("circuits[{}]", i);
      FC_ASSIGN_OR_RETURN(std::string path, ResolveInputValue(ctx, p, name, list[i].get<std::string>()));
      FC_ASSIGN_OR_RETURN(auto c, ReadCollapsedInput(p, name, path));
      if (!circuits.empty() && (c.cfg.n_layers != circuits[0].cfg.n_layers || c.cfg.n_heads != circuits[0].cfg.n_heads)) {
        return p.Invalid(name, "has a different graph (layers/heads) than circuits[0]");
      }
      circuits.push_back(std::move(c));
      paths.push_back(path);
      if (ctx.cancelled()) return CancelledError("merge cancelled");
    }
    circuit::MergeOptions o;
    FC_ASSIGN_OR_RETURN(std::string mode, p.Str("mode"));
    FC_ASSIGN_OR_RETURN(o.mode, circuit::ParseMergeMode(mode));
    FC_ASSIGN_OR_RETURN(std::string score, p.Str("score"));
    FC_ASSIGN_OR_RETURN(o.score, circuit::ParseMergeScore(score));
    FC_ASSIGN_OR_RETURN(o.target_edges, p.Int("target_edges"));
    std::vector<const circuit::CollapsedCircuit*> ptrs;
    for (const auto& c : circuits) ptrs.push_back(&c);
    auto merged = circuit::MergeCollapsed(ptrs, o);
    if (!merged.ok()) return p.Invalid("circuits", merged.status().message());

    const std::string dir = ctx.output_dir() + "/circuit";
    FC_RETURN_IF_ERROR(MakeDir(dir));
    FC_RETURN_IF_ERROR(circuit::WriteCollapsedJson(*merged, circuit::JsonDialect::kEapOld, dir + "/circuit_collapsed.json"));
    FC_RETURN_IF_ERROR(circuit::WriteDot(circuit::CollapsedToDot(*merged), dir + "/circuit.dot"));
    nlohmann::json summary = {{"collapsed_nodes", merged->CountNodes()},
                              {"collapsed_edges", merged->CountEdges()},
                              {"inputs", circuits.size()},
                              {"mode", mode},
                              {"score", score},
                              {"target_edges", o.target_edges},
                              {"params", p.json()}};
    auto shape = CircuitModelShape(ctx, p, "circuits", paths[0]);
    if (shape.ok()) summary["model"] = ShapeToJson(*shape);
    FC_RETURN_IF_ERROR(WriteJsonFile(dir + "/summary.json", summary));
    AddPathOutput(ctx, "circuit", "circuit", dir);
    summary.erase("params");
    ctx.SetResult(summary);
    ctx.ReportProgress(1.0, fmt::format("{} edges, {} nodes", merged->CountEdges(), merged->CountNodes()));
    return Status::OK();
  }
};

}  // namespace

std::unique_ptr<agent::Executor> MakeMergeExecutor() { return std::make_unique<MergeExecutor>(); }

}  // namespace fc::jobs
