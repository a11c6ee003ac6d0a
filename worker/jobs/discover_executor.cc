// `discover`: circuit discovery on a model (+ optional fine-tuning checkpoint merged with its
// own alpha/r) over a rows split. Writes the circuit folder of discovery.h under circuit/;
// output `circuit` (that folder); result = summary.json's numbers.
#include "worker/jobs/discovery.h"
#include "worker/jobs/executors.h"
#include "worker/jobs/job_io.h"
#include "worker/jobs/loaded_model.h"
#include "worker/jobs/rows_input.h"

namespace fc::jobs {
namespace {

class DiscoverExecutor : public agent::Executor {
 public:
  Status Run(agent::JobContext& ctx) override {
    Stopwatch total;
    FC_ASSIGN_OR_RETURN(JobParams p, JobParams::Resolve("discover", ctx.params()));
    FC_ASSIGN_OR_RETURN(DiscoveryOptions options, DiscoveryOptionsFromParams(p));
    FC_ASSIGN_OR_RETURN(std::string model_dir, ResolveInput(ctx, p, "model"));
    std::string checkpoint;
    if (p.Has("checkpoint")) {
      FC_ASSIGN_OR_RETURN(checkpoint, ResolveInput(ctx, p, "checkpoint"));
    }
    FC_ASSIGN_OR_RETURN(std::string data_path, ResolveInput(ctx, p, "data"));
    FC_ASSIGN_OR_RETURN(auto rows, ReadRowsInput(p, "data", data_path, "circuit.jsonl"));
    FC_ASSIGN_OR_RETURN(torch::Device device, ParseTorchDevice(p, ResolveDeviceName(ctx, p)));

    ctx.ReportProgress(0.02, "loading model");
    Stopwatch load_time;
    FC_ASSIGN_OR_RETURN(LoadedModel m, LoadModel(p, "model", model_dir, checkpoint, device));
    const double load_seconds = load_time.Seconds();
    if (ctx.cancelled()) return CancelledError("discover cancelled");

    auto progress = [&ctx](int64_t batch, int64_t batches) {
      ctx.ReportProgress(0.05 + 0.8 * static_cast<double>(batch) / static_cast<double>(batches),
                         fmt::format("IG batch {}/{}", batch, batches), {{"batch", batch}, {"batches", batches}});
    };
    auto cancel = [&ctx] { return ctx.cancelled(); };
    auto r = DiscoverCircuit(*m.model, *m.tokenizer, m.pad_id, rows, options, progress, cancel);
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kInvalidArgument) return p.Invalid("data", r.status().message());
      return r.status();
    }
    ctx.ReportProgress(0.95, "writing circuit");
    nlohmann::json extra = {{"params", p.json()},
                            {"model", ShapeToJson(ShapeOf(m.model->config()))},
                            {"checkpoint", checkpoint},
                            {"merged_adapter", m.merged_adapter}};
    const std::string dir = ctx.output_dir() + "/circuit";
    FC_RETURN_IF_ERROR(WriteCircuitFolder(dir, *r, options, rows, extra));
    nlohmann::json result = DiscoverySummary(*r, options);
    result["timings"]["load_s"] = load_seconds;
    result["timings"]["total_s"] = total.Seconds();
    AddPathOutput(ctx, "circuit", "circuit", dir);
    ctx.SetResult(result);
    ctx.ReportProgress(1.0, fmt::format("{} edges, {} nodes", r->circuit.CountEdges(), r->circuit.CountNodes()));
    return Status::OK();
  }
};

}  // namespace

std::unique_ptr<agent::Executor> MakeDiscoverExecutor() { return std::make_unique<DiscoverExecutor>(); }

}  // namespace fc::jobs
