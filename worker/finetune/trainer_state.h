// TrainerState: what a checkpoint needs besides the weights so that resuming continues the run
// bit for bit on the CPU (style.md 7): the step, the schedule, the data cursor, the seed, the
// optimizer moments and the CPU RNG state (adapter dropout draws from it).
//
// Files in a checkpoint folder:
//   trainer_state.json  {"step", "total_steps", "warmup_steps", "epoch", "offset", "seed",
//                        "method", "world_size", "last_loss"} (human readable)
//   optimizer.pt        LibTorch archive: "optimizer" (AdamW state of every group) and
//                       "rng_cpu" (the default CPU generator state)
// CUDA RNG state is not saved: GPU runs resume statistically, not bit for bit.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "worker/finetune/data_order.h"
#include "worker/finetune/optimizer.h"

namespace fc::finetune {

inline constexpr char kTrainerStateFile[] = "trainer_state.json";
inline constexpr char kOptimizerFile[] = "optimizer.pt";

struct TrainerState {
  int64_t step = 0;
  int64_t total_steps = 0;
  int64_t warmup_steps = 0;
  DataCursor cursor;
  uint64_t seed = 0;
  std::string method;
  int world_size = 1;
  double last_loss = 0;
};

Status SaveTrainerState(const std::string& dir, const TrainerState& state, const GroupedAdamW& optimizer);
// Restores `state`, the optimizer's moments and the global CPU RNG.
Status LoadTrainerState(const std::string& dir, TrainerState* state, GroupedAdamW* optimizer);

}  // namespace fc::finetune
