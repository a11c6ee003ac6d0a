// TrainBase: the embedded default base model of the quickstart (no hub access): a small
// GPT-NeoX (or GPT-2) trained from scratch on arithmetic text until it does the task only
// PARTLY - the paper's setting of a pretrained model that is weak on the task and that
// fine-tuning then improves. Partial skill comes from a short budget (`steps`), not from
// corrupting data; docs/finetune.md records the accuracy reached per setting.
//
// Data: `rows` when given (a dataset job's ft split), else add/sub within max_operand generated
// by fc::data. Tokenizer: the char-level tokenizer with number tokens up to 2*max_operand, so
// every answer is one token. A seeded held-out slice (heldout_fraction) measures accuracy.
// Output: out_dir/{config.json, model.safetensors, tokenizer.json, train_base.json} which
// LoadCausalLM + Tokenizer::FromFile read back identically. Same params -> same weights.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/data/task_row.h"
#include "worker/finetune/trainer.h"

namespace fc::finetune {

struct TrainBaseParams {
  std::string arch = "gpt_neox";  // or "gpt2"
  int64_t layers = 2;
  int64_t heads = 4;
  int64_t d_model = 128;
  int64_t d_mlp = 0;              // 0: 4 * d_model
  int64_t max_positions = 256;
  // Data.
  std::vector<data::TaskRow> rows;  // empty: generate add_sub
  int64_t max_operand = 100;
  int64_t generated_rows = 5000;
  double heldout_fraction = 0.1;
  // Drops the constant instruction prefix (data::kArithmeticPrefix) from every prompt: ~9x fewer
  // tokens per row for char-level models, at the price of a base model that has never seen
  // the prefixed prompts the fine-tuning data uses.
  bool strip_prefix = false;
  // Non-empty ("+" or "-"): keep only the rows whose clean prompt uses this operator (" + " /
  // " - "), so the base model is pre-trained on an easier, related part of the task - e.g.
  // additions only - and is weak on the full task that fine-tuning then teaches (the paper's
  // setting). The held-out slice comes from the kept rows. Error when no row is left.
  std::string only_operator;
  // Optimisation.
  int64_t steps = 300;
  int64_t batch_size = 32;
  double lr = 3e-3;
  int64_t warmup_steps = 30;
  double weight_decay = 0.01;
  double max_grad_norm = 1.0;
  uint64_t seed = 42;
  std::string out_dir;            // required
};

struct TrainBaseResult {
  std::string dir;
  int64_t steps = 0;
  int64_t parameters = 0;
  double final_loss = 0;
  double heldout_accuracy = 0;   // exact match on the held-out slice
  double seconds = 0;
  int64_t tokens_per_step = 0;   // mean tokens in one step's batch
};

StatusOr<TrainBaseResult> TrainBase(const TrainBaseParams& params, const ProgressFn& progress = nullptr,
                                    const CancelFn& cancel = nullptr);

}  // namespace fc::finetune
