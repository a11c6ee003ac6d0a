// RegisterEngineExecutors (worker/agent/engine_hook.h): every science kind, each wrapped so that
// an exception escaping LibTorch or a library becomes a Status (INTERNAL) instead of reaching
// the agent.
#include <exception>

#include <torch/torch.h>

#include "worker/agent/engine_hook.h"
#include "worker/jobs/executors.h"

namespace fc::jobs {
namespace {

class Guarded : public agent::Executor {
 public:
  explicit Guarded(std::unique_ptr<agent::Executor> inner) : inner_(std::move(inner)) {}
  Status Run(agent::JobContext& ctx) override {
    try {
      return inner_->Run(ctx);
    } catch (const c10::Error& e) {
      return InternalError("job kind '{}': {}", ctx.kind(), e.what_without_backtrace());
    } catch (const std::exception& e) {
      return InternalError("job kind '{}': {}", ctx.kind(), e.what());
    }
  }

 private:
  std::unique_ptr<agent::Executor> inner_;
};

}  // namespace

Status RegisterEngineExecutors(agent::ExecutorRegistry* registry) {
  const std::vector<std::pair<const char*, std::unique_ptr<agent::Executor> (*)()>> kinds = {
      {"dataset", MakeDatasetExecutor},
      {"train_base", MakeTrainBaseExecutor},
      {"model", MakeModelExecutor},
      {"discover", MakeDiscoverExecutor},
      {"finetune", MakeFinetuneExecutor},
      {"reextract", MakeReextractExecutor},
      {"circuit_lora_plan", MakeCircuitLoraPlanExecutor},
      {"merge", MakeMergeExecutor},
      {"robustness", MakeRobustnessExecutor},
      {"evaluate", MakeEvaluateExecutor},
  };
  for (const auto& [kind, make] : kinds) {
    auto factory = make;
    FC_RETURN_IF_ERROR(registry->Register(kind, [factory] { return std::make_unique<Guarded>(factory()); }));
  }
  return Status::OK();
}

}  // namespace fc::jobs
