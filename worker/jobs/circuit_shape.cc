#include "worker/jobs/circuit_shape.h"

#include <filesystem>

#include "worker/jobs/job_io.h"
#include "worker/jobs/loaded_model.h"
#include "worker/model/config.h"

namespace fc::jobs {

StatusOr<circuit::ModelShape> CircuitModelShape(const agent::JobContext& ctx, const JobParams& params,
                                                const std::string& param, const std::string& circuit_path) {
  if (params.Has("model")) {
    FC_ASSIGN_OR_RETURN(std::string model_dir, ResolveInput(ctx, params, "model"));
    auto cfg = model::ReadModelConfig(IsDir(model_dir) ? model_dir + "/config.json" : model_dir);
    if (!cfg.ok()) return params.Invalid("model", cfg.status().message());
    return ShapeOf(*cfg);
  }
  std::string dir = IsDir(circuit_path + "/circuit") ? circuit_path + "/circuit"
                    : IsDir(circuit_path)            ? circuit_path : std::filesystem::path(circuit_path).parent_path().string();
  auto summary = ReadJsonFile((dir.empty() ? "." : dir) + "/summary.json");
  if (summary.ok() && summary->contains("model")) {
    auto shape = ShapeFromJson(summary->at("model"), dir + "/summary.json");
    if (!shape.ok()) return params.Invalid(param, shape.status().message());
    return shape;
  }
  return params.Invalid(param, fmt::format("cannot tell the model shape of '{}' (no summary.json with \"model\" "
                                           "beside it): pass model=<HF folder>", circuit_path));
}

}  // namespace fc::jobs
