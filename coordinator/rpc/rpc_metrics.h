// Per-method RPC metrics: fc_rpc_requests_total{method,code} and
// fc_rpc_latency_seconds{method}. Thread-safe; series are created on first use.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "coordinator/metrics/registry.h"

namespace fc::coord::rpc {

class RpcMetrics {
 public:
  explicit RpcMetrics(metrics::Registry* registry) : registry_(registry) {}
  void Record(const char* method, grpc::StatusCode code, double seconds);

 private:
  metrics::Registry* registry_;
  std::mutex mu_;
  std::map<std::pair<std::string, int>, metrics::Counter*> counters_;
  std::map<std::string, metrics::Histogram*> latency_;
};

// Finishes a unary reactor and records its metrics.
class Call {
 public:
  Call(RpcMetrics* m, const char* method, grpc::ServerUnaryReactor* reactor)
      : m_(m), method_(method), reactor_(reactor), start_(std::chrono::steady_clock::now()) {}
  void Finish(const grpc::Status& s) const {
    m_->Record(method_, s.error_code(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    reactor_->Finish(s);
  }

 private:
  RpcMetrics* m_;
  const char* method_;
  grpc::ServerUnaryReactor* reactor_;
  std::chrono::steady_clock::time_point start_;
};

const char* GrpcCodeName(grpc::StatusCode code);

}  // namespace fc::coord::rpc
