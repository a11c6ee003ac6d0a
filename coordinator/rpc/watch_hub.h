// Fan-out of committed events to live Watch streams. Lives on the io thread: the scheduler's
// event sink calls Publish after each commit (events arrive in seq order), streams Add/Remove
// themselves by posting to io. A stream only learns "there are events up to seq N for you";
// it reads them from the events table itself, so a slow stream coalesces and nothing is lost
// between its catch-up read and the live tail.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/core/types.h"

namespace fc::coord::rpc {

class WatchListener {
 public:
  virtual ~WatchListener() = default;
  virtual const std::string& experiment_filter() const = 0;  // "" = all
  virtual void OnCommitted(int64_t max_seq) = 0;              // called on the io thread
};

class WatchHub {
 public:
  explicit WatchHub(int64_t max_seq) : max_seq_(max_seq) {}
  // Returns the highest committed seq at the time of registration.
  int64_t Add(uint64_t id, std::weak_ptr<WatchListener> l);
  void Remove(uint64_t id) { listeners_.erase(id); }
  void Publish(const std::vector<EventRow>& events);
  int64_t max_seq() const { return max_seq_; }
  size_t size() const { return listeners_.size(); }

 private:
  int64_t max_seq_;
  std::map<uint64_t, std::weak_ptr<WatchListener>> listeners_;
};

}  // namespace fc::coord::rpc
