#include "coordinator/rpc/watch_hub.h"

namespace fc::coord::rpc {

int64_t WatchHub::Add(uint64_t id, std::weak_ptr<WatchListener> l) {
  listeners_[id] = std::move(l);
  return max_seq_;
}

void WatchHub::Publish(const std::vector<EventRow>& events) {
  if (events.empty()) return;
  max_seq_ = std::max(max_seq_, events.back().seq);
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    auto l = it->second.lock();
    if (!l) {
      it = listeners_.erase(it);
      continue;
    }
    const std::string& filter = l->experiment_filter();
    int64_t top = 0;
    for (const EventRow& e : events) {
      if (filter.empty() || e.experiment_id == filter) top = std::max(top, e.seq);
    }
    if (top > 0) l->OnCommitted(top);
    ++it;
  }
}

}  // namespace fc::coord::rpc
