// LinearSchedule: HF `get_linear_schedule_with_warmup`, the schedule of every fine-tuning run in
// the paper (algorithms.md 6.3, 8.8). The multiplier applied to each parameter group's own base
// learning rate at optimizer step `step` (0-based: the first update uses step 0) is
//   step < warmup:  step / warmup
//   otherwise:      max(0, (total - step) / (total - warmup))
// so the first update has lr 0 exactly like HF, the peak is reached at step == warmup and the
// last update (step total-1) has lr base/(total-warmup). Pure function: the state to resume is
// just the step, which the trainer state stores.
#pragma once

#include <cstdint>

#include "common/status.h"

namespace fc::finetune {

class LinearSchedule {
 public:
  // warmup in [0, total]; total >= 1.
  static StatusOr<LinearSchedule> Create(int64_t warmup_steps, int64_t total_steps);

  double Multiplier(int64_t step) const;
  int64_t warmup_steps() const { return warmup_; }
  int64_t total_steps() const { return total_; }

 private:
  LinearSchedule(int64_t warmup, int64_t total) : warmup_(warmup), total_(total) {}
  int64_t warmup_;
  int64_t total_;
};

}  // namespace fc::finetune
