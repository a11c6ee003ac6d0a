// Finetune(): the training loop for full fine-tuning, LoRA and CircuitLoRA (algorithms.md 6, 8)
// and, with method kFull on a random model, base-model training (train_base.h).
//
// One optimizer step = grad_accum micro-batches of batch_size rows (seeded shuffle per epoch),
// loss = summed token CE / labelled tokens of the whole window on all ranks (exact accumulation;
// with several ranks the count and then the gradients are summed through the Collective, which
// equals one batch of all ranks' rows), clipped to max_grad_norm (global L2), then
// AdamW with lr = base_lr(group) * LinearSchedule(step). Total steps: max_steps, or
// epochs * max(1, ceil(rows / batch_size) / grad_accum) as HF Trainer counts them.
//
// Checkpoints (when output_dir is set): at step 0 (the untouched base: parent "base"), every
// checkpoint_every steps and at the last step, each with checkpoint.json lineage, held-out loss
// and exact-match accuracy (checkpointer.h) and the trainer state (trainer_state.h). With
// resume=true the newest complete checkpoint in output_dir is restored first; `model` must then
// be the same base model the run started from. On the CPU the resumed run is bit-for-bit the
// uninterrupted one. progress(step, loss) runs after every optimizer step; cancel() is polled
// before each step and yields CANCELLED (the checkpoints written so far stay valid).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/collective/collective.h"
#include "worker/finetune/examples.h"
#include "worker/finetune/optimizer.h"
#include "worker/finetune/rank_map.h"
#include "worker/model/causal_lm.h"

namespace fc::finetune {

enum class FinetuneMethod { kLora, kCircuitLora, kFull };
const char* FinetuneMethodName(FinetuneMethod method);  // "lora", "circuit_lora", "full"
StatusOr<FinetuneMethod> ParseFinetuneMethod(const std::string& name);

using ProgressFn = std::function<void(int64_t step, double loss)>;
using CancelFn = std::function<bool()>;

struct FinetuneParams {
  FinetuneMethod method = FinetuneMethod::kLora;
  // LoRA: defaults are the paper's (r 32, alpha 64, dropout 0, every block Linear).
  int64_t rank = 32;
  double alpha = 64;
  double lora_dropout = 0;
  std::vector<std::string> target_modules;  // names or suffixes; empty = DefaultTargetModules
  // CircuitLoRA: per-module r/alpha, critical modules and both learning rates.
  std::optional<RankMap> rank_map;
  // Optimisation (lr is ignored for circuit_lora, which takes the rank map's two rates).
  double lr = 2e-4;
  double weight_decay = 0.01;
  AdamWHyper adam;
  int64_t batch_size = 8;
  int64_t grad_accum = 4;
  int64_t epochs = 2;
  int64_t max_steps = 0;  // > 0 overrides epochs
  int64_t warmup_steps = 25;
  double max_grad_norm = 1.0;  // <= 0: no clipping
  uint64_t seed = 42;
  int64_t pad_id = 0;
  // Checkpoints and lineage.
  std::string output_dir;  // empty: no checkpoints, no resume
  int64_t checkpoint_every = 25;  // 0: only step 0 and the last step
  bool checkpoint_at_start = true;
  int64_t keep_latest_k = 0;  // 0: keep all
  bool resume = true;
  std::string job_id;
  std::string base_model;      // recorded in checkpoint.json and adapter_config.json
  std::string tokenizer_json;  // copied into full fine-tuning checkpoints when set
  int64_t eval_batch_size = 64;
  // Called with the final folder right after each checkpoint is on disk (rename + fsync done),
  // so a job can report it without scanning output_dir.
  std::function<void(const std::string& checkpoint_dir, int64_t step)> on_checkpoint;
};

struct FinetuneResult {
  int64_t total_steps = 0;
  int64_t resumed_from_step = 0;
  double final_loss = 0;          // last training step's loss
  double final_eval_loss = 0;     // held-out, after training
  double final_accuracy = 0;      // held-out exact match, after training
  int64_t trainable_params = 0;
  int64_t base_params = 0;
  double trainable_ratio = 0;     // trainable / (base + adapters), algorithms.md 6.5
  std::vector<double> loss_curve; // one entry per step run by this call
  std::vector<double> grad_norms; // global gradient norm before clipping, per step
  std::vector<std::string> checkpoints;  // folders written by this call
};

StatusOr<FinetuneResult> Finetune(model::CausalLM& model, const std::vector<TrainExample>& train,
                                  const std::vector<EvalExample>& heldout, const FinetuneParams& params,
                                  const ProgressFn& progress = nullptr, const CancelFn& cancel = nullptr,
                                  collective::Collective* collective = nullptr);

// Steps an epoch has for these settings (>= 1).
int64_t StepsPerEpoch(int64_t rows, int64_t batch_size, int64_t grad_accum);

}  // namespace fc::finetune
