#include "worker/finetune/lr_schedule.h"

#include <algorithm>

namespace fc::finetune {

StatusOr<LinearSchedule> LinearSchedule::Create(int64_t warmup, int64_t total) {
  if (total < 1) return InvalidArgumentError("lr schedule field 'total_steps': must be >= 1, got {}", total);
  if (warmup < 0 || warmup > total) {
    return InvalidArgumentError("lr schedule field 'warmup_steps': must be in [0, {}], got {}", total, warmup);
  }
  return LinearSchedule(warmup, total);
}

double LinearSchedule::Multiplier(int64_t step) const {
  if (step < warmup_) return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_));
  return std::max(0.0, static_cast<double>(total_ - step) /
                           static_cast<double>(std::max<int64_t>(1, total_ - warmup_)));
}

}  // namespace fc::finetune
