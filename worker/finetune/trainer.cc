#include "worker/finetune/trainer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>

#include "worker/collective/local_collective.h"
#include "worker/finetune/checkpointer.h"
#include "worker/finetune/data_order.h"
#include "worker/finetune/evaluate.h"
#include "worker/finetune/lora.h"
#include "worker/finetune/loss.h"
#include "worker/finetune/lr_schedule.h"
#include "worker/finetune/trainer_state.h"

namespace fc::finetune {

namespace fs = std::filesystem;

const char* FinetuneMethodName(FinetuneMethod m) {
  switch (m) {
    case FinetuneMethod::kLora: return "lora";
    case FinetuneMethod::kCircuitLora: return "circuit_lora";
    case FinetuneMethod::kFull: return "full";
  }
  return "?";
}

StatusOr<FinetuneMethod> ParseFinetuneMethod(const std::string& name) {
  if (name == "lora") return FinetuneMethod::kLora;
  if (name == "circuit_lora") return FinetuneMethod::kCircuitLora;
  if (name == "full") return FinetuneMethod::kFull;
  return InvalidArgumentError("finetune field 'method': must be lora, circuit_lora or full, got '{}'", name);
}

int64_t StepsPerEpoch(int64_t rows, int64_t batch_size, int64_t grad_accum) {
  const int64_t batches = (rows + batch_size - 1) / batch_size;
  return std::max<int64_t>(1, batches / grad_accum);
}

namespace {

Status ValidateParams(const FinetuneParams& p) {
  if (p.batch_size < 1) return InvalidArgumentError("finetune field 'batch_size': must be >= 1, got {}", p.batch_size);
  if (p.grad_accum < 1) return InvalidArgumentError("finetune field 'grad_accum': must be >= 1, got {}", p.grad_accum);
  if (p.max_steps < 0) return InvalidArgumentError("finetune field 'max_steps': must be >= 0, got {}", p.max_steps);
  if (p.max_steps == 0 && p.epochs < 1) return InvalidArgumentError("finetune field 'epochs': must be >= 1, got {}", p.epochs);
  if (p.warmup_steps < 0) return InvalidArgumentError("finetune field 'warmup_steps': must be >= 0, got {}", p.warmup_steps);
  if (p.checkpoint_every < 0) {
    return InvalidArgumentError("finetune field 'checkpoint_every': must be >= 0, got {}", p.checkpoint_every);
  }
  if (p.keep_latest_k < 0) return InvalidArgumentError("finetune field 'keep_latest_k': must be >= 0, got {}", p.keep_latest_k);
  if (!(p.lr >= 0)) return InvalidArgumentError("finetune field 'lr': must be >= 0, got {}", p.lr);
  if (!(p.weight_decay >= 0)) return InvalidArgumentError("finetune field 'weight_decay': must be >= 0, got {}", p.weight_decay);
  if (p.method == FinetuneMethod::kLora) {
    if (p.rank < 1) return InvalidArgumentError("finetune field 'rank': must be >= 1, got {}", p.rank);
    if (!(p.alpha > 0)) return InvalidArgumentError("finetune field 'alpha': must be > 0, got {}", p.alpha);
  }
  if (!(p.lora_dropout >= 0 && p.lora_dropout < 1)) {
    return InvalidArgumentError("finetune field 'lora_dropout': must be in [0, 1), got {}", p.lora_dropout);
  }
  if (p.method == FinetuneMethod::kCircuitLora && !p.rank_map) {
    return InvalidArgumentError("finetune field 'plan': method circuit_lora needs a rank map");
  }
  return Status::OK();
}

AdapterConfig LoraConfigFor(model::CausalLM& model, const FinetuneParams& p) {
  if (p.method == FinetuneMethod::kCircuitLora) {
    AdapterConfig c = p.rank_map->ToAdapterConfig(p.lora_dropout, p.base_model);
    c.fan_in_fan_out = model.config().arch == model::Arch::kGpt2;
    c.inference_mode = true;
    return c;
  }
  AdapterConfig c;
  c.base_model_name_or_path = p.base_model;
  c.r = p.rank;
  c.lora_alpha = p.alpha;
  c.lora_dropout = p.lora_dropout;
  c.target_modules = p.target_modules.empty() ? DefaultTargetModules(model.config().arch) : p.target_modules;
  std::sort(c.target_modules.begin(), c.target_modules.end());
  c.fan_in_fan_out = model.config().arch == model::Arch::kGpt2;  // peft's setting for Conv1D
  return c;
}

// Copies the weights of a full fine-tuning checkpoint into `model` (same architecture).
Status RestoreFullWeights(model::CausalLM& model, const std::string& dir) {
  FC_ASSIGN_OR_RETURN(auto saved, model::LoadCausalLM(dir, model.device(), model.dtype()));
  auto src = saved->NamedParameters();
  auto dst = model.NamedParameters();
  if (src.size() != dst.size()) {
    return DataLossError("{}: {} parameters, the model has {}", dir, src.size(), dst.size());
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < dst.size(); ++i) {
    if (src[i].first != dst[i].first || !src[i].second.sizes().equals(dst[i].second.sizes())) {
      return DataLossError("{}: parameter '{}' does not match the model's '{}'", dir, src[i].first, dst[i].first);
    }
    dst[i].second.copy_(src[i].second);
  }
  return Status::OK();
}

int64_t CountParams(model::CausalLM& model) {
  int64_t n = 0;
  for (const auto& p : model.module().parameters()) n += p.numel();
  return n;
}

}  // namespace

StatusOr<FinetuneResult> Finetune(model::CausalLM& model, const std::vector<TrainExample>& train,
                                  const std::vector<EvalExample>& heldout, const FinetuneParams& p,
                                  const ProgressFn& progress, const CancelFn& cancel,
                                  collective::Collective* collective) {
  FC_RETURN_IF_ERROR(ValidateParams(p));
  const int64_t vocab = model.config().vocab_size;
  FC_RETURN_IF_ERROR(ValidateTrainExamples(train, vocab));
  FC_RETURN_IF_ERROR(ValidateEvalExamples(heldout, vocab));
  std::unique_ptr<collective::Collective> local;
  if (collective == nullptr) {
    local = collective::MakeLocalCollective();
    collective = local.get();
  }

  FinetuneResult result;
  const int64_t rows = static_cast<int64_t>(train.size());
  const int64_t total =
      p.max_steps > 0 ? p.max_steps : p.epochs * StepsPerEpoch(rows, p.batch_size, p.grad_accum);
  FC_ASSIGN_OR_RETURN(LinearSchedule schedule, LinearSchedule::Create(std::min(p.warmup_steps, total), total));
  result.total_steps = total;
  result.base_params = CountParams(model);

  Checkpointer checkpointer(p.output_dir, p.keep_latest_k);
  std::optional<std::string> latest;
  if (!p.output_dir.empty() && p.resume) {
    FC_ASSIGN_OR_RETURN(latest, checkpointer.Latest());
  }

  // Trainable parameters and their optimizer groups, in a fixed order (resume depends on it).
  std::unique_ptr<LoraSet> lora;
  std::vector<ParamGroup> groups;
  if (p.method == FinetuneMethod::kFull) {
    if (latest) FC_RETURN_IF_ERROR(RestoreFullWeights(model, *latest));
    ParamGroup decay{"decay", {}, p.lr, p.weight_decay};
    ParamGroup no_decay{"no_decay", {}, p.lr, 0.0};
    // HF Trainer exempts biases and LayerNorm weights (the 1-d parameters) from weight decay.
    for (auto& [name, t] : model.NamedParameters()) {
      t.set_requires_grad(true);
      (t.dim() >= 2 ? decay : no_decay).params.push_back(t);
    }
    groups = {decay, no_decay};
    result.trainable_params = result.base_params;
  } else {
    if (latest) {
      auto loaded = LoraSet::Load(model, *latest);
      if (!loaded.ok()) return loaded.status();
      lora = std::move(loaded).value();
    } else {
      auto attached = LoraSet::Attach(model, LoraConfigFor(model, p), p.seed);
      if (!attached.ok()) return attached.status();
      lora = std::move(attached).value();
    }
    if (p.method == FinetuneMethod::kCircuitLora) {
      const auto critical = p.rank_map->CriticalModules();
      std::vector<std::string> other;
      for (const auto& m : lora->Modules()) {
        if (std::find(critical.begin(), critical.end(), m) == critical.end()) other.push_back(m);
      }
      groups = {ParamGroup{"critical", lora->ParametersOf(critical), p.rank_map->lr_critical, p.weight_decay},
                ParamGroup{"other", lora->ParametersOf(other), p.rank_map->lr_other, p.weight_decay}};
    } else {
      groups = {ParamGroup{"lora", lora->Parameters(), p.lr, p.weight_decay}};
    }
    result.trainable_params = lora->TrainableParameterCount();
  }
  result.trainable_ratio = static_cast<double>(result.trainable_params) /
                           static_cast<double>(result.base_params + (lora ? result.trainable_params : 0));
  FC_ASSIGN_OR_RETURN(auto optimizer, GroupedAdamW::Create(groups, p.adam));
  const std::vector<torch::Tensor> trainable = optimizer->AllParams();

  FC_ASSIGN_OR_RETURN(DataOrder order, DataOrder::Create(rows, p.seed));
  TrainerState state;
  state.total_steps = total;
  state.warmup_steps = schedule.warmup_steps();
  state.seed = p.seed;
  state.method = FinetuneMethodName(p.method);
  state.world_size = collective->world_size();
  if (latest) {
    FC_RETURN_IF_ERROR(LoadTrainerState(*latest, &state, optimizer.get()));
    if (state.total_steps != total || state.seed != p.seed || state.method != FinetuneMethodName(p.method)) {
      return FailedPreconditionError(
          "cannot resume from '{}': it was written by a run with {} steps, seed {}, method {} (this run: {}, {}, {})",
          *latest, state.total_steps, state.seed, state.method, total, p.seed, FinetuneMethodName(p.method));
    }
    FC_RETURN_IF_ERROR(order.SetCursor(state.cursor));
    result.resumed_from_step = state.step;
  } else {
    torch::manual_seed(p.seed);
  }

  auto save_checkpoint = [&](int64_t step, std::optional<double> train_loss) -> Status {
    FC_ASSIGN_OR_RETURN(EvalResult eval, EvaluateHeldOut(model, heldout, p.eval_batch_size, p.pad_id));
    CheckpointInfo info;
    info.step = step;
    info.loss = eval.total ? eval.loss : NAN;
    info.train_loss = train_loss;
    info.accuracy = eval.accuracy;
    info.job_id = p.job_id;
    info.method = FinetuneMethodName(p.method);
    info.base_model = p.base_model;
    state.step = step;
    state.cursor = order.cursor();
    state.last_loss = train_loss.value_or(0.0);
    auto path = checkpointer.Save(info, [&](const std::string& dir) -> Status {
      if (lora) {
        FC_RETURN_IF_ERROR(lora->Save(dir));
      } else {
        FC_RETURN_IF_ERROR(model::SaveCausalLM(model, dir));
        if (!p.tokenizer_json.empty()) {
          std::error_code ec;
          fs::copy_file(p.tokenizer_json, dir + "/tokenizer.json", fs::copy_options::overwrite_existing, ec);
          if (ec) return InternalError("cannot copy '{}' into '{}': {}", p.tokenizer_json, dir, ec.message());
        }
      }
      return SaveTrainerState(dir, state, *optimizer);
    });
    if (!path.ok()) return path.status();
    result.checkpoints.push_back(*path);
    if (p.on_checkpoint) p.on_checkpoint(*path, step);
    return Status::OK();
  };

  int64_t step = state.step;
  if (!p.output_dir.empty() && !latest && p.checkpoint_at_start) {
    FC_RETURN_IF_ERROR(save_checkpoint(0, std::nullopt));
  }

  model.module().train();
  const int rank = collective->rank();
  const int world = collective->world_size();
  try {
    while (step < total) {
      if (cancel && cancel()) return CancelledError("finetune cancelled at step {} of {}", step, total);
      // The window's micro-batches; each rank takes its strided share of every batch.
      std::vector<Batch> micro;
      int64_t window_labels = 0;
      for (int64_t k = 0; k < p.grad_accum; ++k) {
        std::vector<int64_t> idx = order.NextBatch(p.batch_size * world);
        std::vector<int64_t> mine;
        for (size_t i = rank; i < idx.size(); i += world) mine.push_back(idx[i]);
        if (mine.empty()) continue;
        FC_ASSIGN_OR_RETURN(Batch b, CollateTrain(train, mine, p.pad_id));
        window_labels += CountLabels(b.labels);
        micro.push_back(std::move(b));
      }
      if (world > 1) {
        // Normalise by the labelled tokens of the whole window on all ranks, so that summing
        // the ranks' gradients equals one large batch (a mean of per-rank means would not).
        std::vector<torch::Tensor> count = {
            torch::full({1}, static_cast<double>(window_labels), torch::TensorOptions().dtype(torch::kFloat64).device(model.device()))};
        FC_RETURN_IF_ERROR(collective->AllReduceSum(count));
        window_labels = static_cast<int64_t>(std::llround(count[0].item<double>()));
      }
      optimizer->ZeroGrad();
      double loss_sum = 0;
      for (const Batch& b : micro) {
        torch::Tensor logits = model.Forward(b.ids);
        FC_ASSIGN_OR_RETURN(LossSum ls, CausalLmLossSum(logits, b.labels));
        if (window_labels > 0) (ls.sum / static_cast<double>(window_labels)).backward();
        loss_sum += ls.sum.item<double>();
      }
      if (world > 1) {
        // Every rank must pass the same tensor list: a rank without rows contributes zeros.
        for (auto& t : trainable) {
          if (!t.grad().defined()) t.mutable_grad() = torch::zeros_like(t);
        }
        std::vector<torch::Tensor> grads = collective::DefinedGrads(trainable);
        FC_RETURN_IF_ERROR(collective->AllReduceSum(grads));
        std::vector<torch::Tensor> loss_t = {
            torch::full({1}, loss_sum, torch::TensorOptions().dtype(torch::kFloat64).device(model.device()))};
        FC_RETURN_IF_ERROR(collective->AllReduceSum(loss_t));
        loss_sum = loss_t[0].item<double>();
      }
      const double grad_norm = p.max_grad_norm > 0 ? ClipGradNorm(trainable, p.max_grad_norm)
                                                   : ClipGradNorm(trainable, std::numeric_limits<double>::infinity());
      result.grad_norms.push_back(grad_norm);
      optimizer->SetLrMultiplier(schedule.Multiplier(step));
      optimizer->Step();
      ++step;
      const double loss = window_labels > 0 ? loss_sum / static_cast<double>(window_labels) : 0.0;
      result.loss_curve.push_back(loss);
      result.final_loss = loss;
      if (progress) progress(step, loss);
      const bool due = (p.checkpoint_every > 0 && step % p.checkpoint_every == 0) || step == total;
      if (!p.output_dir.empty() && due && rank == 0) FC_RETURN_IF_ERROR(save_checkpoint(step, loss));
    }
  } catch (const c10::Error& e) {
    return InternalError("finetune step {} failed: {}", step, e.what_without_backtrace());
  }
  FC_ASSIGN_OR_RETURN(EvalResult final_eval, EvaluateHeldOut(model, heldout, p.eval_batch_size, p.pad_id));
  result.final_eval_loss = final_eval.loss;
  result.final_accuracy = final_eval.accuracy;
  if (p.method == FinetuneMethod::kFull) {
    for (auto& t : trainable) t.set_requires_grad(false);
  }
  return result;
}

}  // namespace fc::finetune
