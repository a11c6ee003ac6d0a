#include "coordinator/rpc/rpc_metrics.h"

namespace fc::coord::rpc {

const char* GrpcCodeName(grpc::StatusCode code) {
  static const char* kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
                                 "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
                                 "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
                                 "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  int c = static_cast<int>(code);
  return c >= 0 && c <= 16 ? kNames[c] : "UNKNOWN";
}

void RpcMetrics::Record(const char* method, grpc::StatusCode code, double seconds) {
  metrics::Counter* counter;
  metrics::Histogram* hist;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto& c = counters_[{method, static_cast<int>(code)}];
    if (!c) {
      c = registry_->GetCounter("fc_rpc_requests_total", "gRPC requests by method and status code",
                                {{"method", method}, {"code", GrpcCodeName(code)}});
    }
    counter = c;
    auto& h = latency_[method];
    if (!h) {
      h = registry_->GetHistogram("fc_rpc_latency_seconds", "gRPC handling latency (unary: until Finish)",
                                  metrics::ExponentialBuckets(0.00005, 2, 18), {{"method", method}});
    }
    hist = h;
  }
  counter->Inc();
  hist->Observe(seconds);
}

}  // namespace fc::coord::rpc
