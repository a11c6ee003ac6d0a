// TaskRow: one example of a task dataset, the unit every generator, split, loader and batch
// builder exchanges.
#pragma once

#include <string>

namespace fc::data {

struct TaskRow {
  std::string clean;      // prompt, e.g. PREFIX + "72 - 46 ="
  std::string corrupted;  // same-length counterfactual prompt; "" for fine-tune-only rows
  std::string label;      // answer text of the clean prompt, e.g. "26"

  bool operator==(const TaskRow& o) const {
    return clean == o.clean && corrupted == o.corrupted && label == o.label;
  }
};

}  // namespace fc::data
