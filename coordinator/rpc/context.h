// What the gRPC services share: the io context that owns the scheduler, the store (reader pool
// for queries) and the watch hub. Services never block a callback thread: scheduler work is
// posted to io, queries to the reader pool, and reactors finish from those completions.
#pragma once

#include <boost/asio/io_context.hpp>

#include "coordinator/rpc/rpc_metrics.h"
#include "coordinator/rpc/watch_hub.h"
#include "coordinator/scheduler/scheduler.h"
#include "coordinator/store/store.h"

namespace fc::coord::rpc {

struct ServiceContext {
  boost::asio::io_context* io = nullptr;
  Scheduler* scheduler = nullptr;
  store::Store* store = nullptr;
  WatchHub* hub = nullptr;
  RpcMetrics* metrics = nullptr;
  int32_t heartbeat_ms = 2000;
  int32_t lease_ttl_ms = 15000;
};

}  // namespace fc::coord::rpc
