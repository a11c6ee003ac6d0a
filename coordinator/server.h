// fc-coordinator as a library: Config -> Server. Start() opens the store (migrating, recovering
// the scheduler from disk), binds gRPC and HTTP (port 0 = any free port) and writes the ready
// file; Shutdown() stops taking requests, answers parked long polls, lets in-flight commits
// finish and closes the store. Threads: gRPC callback pool, "io" (scheduler, timers, watch
// fan-out), "store-writer", "store-reader" x2, "http", "blob" x2 (artifact file I/O).
#pragma once

#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <grpcpp/grpcpp.h>

#include "common/status.h"
#include "coordinator/metrics/registry.h"
#include "coordinator/scheduler/scheduler.h"

namespace fc::artifacts {
class BlobStore;
class ArtifactService;
}  // namespace fc::artifacts

namespace fc::coord {

namespace store { class Store; }
namespace http { class HttpServer; }
namespace tracking { class TrackingService; class CircuitIngester; }
namespace rpc {
class ExperimentService;
class WorkerService;
class AdminService;
class WatchHub;
class RpcMetrics;
}  // namespace rpc

struct Config {
  std::string grpc_listen = "127.0.0.1:0";  // HOST:PORT
  std::string http_listen = "127.0.0.1:0";
  std::string db_path;
  std::string artifacts_dir;
  int64_t lease_ttl_ms = 15000;
  int64_t heartbeat_ms = 2000;
  int64_t retry_backoff_ms = 1000;
  int64_t retry_backoff_max_ms = 60000;
  std::string ready_file;  // written (tmp + rename) once both servers are bound
  int readers = 2;
  int64_t tick_ms = 20;    // timer granularity for lease expiry / backoff / long polls
};

class Server {
 public:
  static StatusOr<std::unique_ptr<Server>> Start(const Config& config);
  ~Server();

  // "127.0.0.1:PORT" as clients should dial it.
  std::string grpc_address() const;
  std::string http_address() const;
  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_port_; }

  // Idempotent; safe from any thread but the io thread.
  void Shutdown();
  // Blocks until Shutdown() has completed.
  void Wait();

  // Runs fn on the io thread (which owns the scheduler) and returns its result.
  template <typename F>
  auto RunOnIo(F fn) -> std::invoke_result_t<F, Scheduler&> {
    using R = std::invoke_result_t<F, Scheduler&>;
    std::promise<R> p;
    boost::asio::post(io_, [&] {
      if constexpr (std::is_void_v<R>) {
        fn(*scheduler_);
        p.set_value();
      } else {
        p.set_value(fn(*scheduler_));
      }
    });
    return p.get_future().get();
  }
  metrics::Registry& metrics() { return metrics_; }

 private:
  Server() = default;
  Status Init(const Config& config);
  void ArmTick();

  Config config_;
  metrics::Registry metrics_;
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::unique_ptr<boost::asio::steady_timer> tick_;
  bool ticking_stopped_ = false;  // io thread only
  std::thread io_thread_;
  SystemClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<tracking::CircuitIngester> ingester_;  // edge scores of finished discover jobs
  std::unique_ptr<rpc::WatchHub> hub_;
  std::unique_ptr<rpc::RpcMetrics> rpc_metrics_;
  std::unique_ptr<rpc::ExperimentService> experiment_service_;
  std::unique_ptr<rpc::WorkerService> worker_service_;
  std::unique_ptr<rpc::AdminService> admin_service_;
  std::unique_ptr<tracking::TrackingService> tracking_service_;  // docs/tracking.md
  std::unique_ptr<artifacts::BlobStore> blob_store_;              // --artifacts DIR
  std::unique_ptr<artifacts::ArtifactService> artifact_service_;  // destroyed before blob_store_
  std::unique_ptr<grpc::Server> grpc_;
  std::unique_ptr<http::HttpServer> http_;
  std::string grpc_host_, http_host_;
  int grpc_port_ = 0, http_port_ = 0;
  std::mutex shutdown_mu_;
  bool shut_down_ = false;
  std::promise<void> done_;
  std::shared_future<void> done_future_ = done_.get_future().share();
};

// Splits "HOST:PORT" ("[::1]:80" too); INVALID_ARGUMENT naming `flag` when malformed.
Status ParseHostPort(const std::string& flag, const std::string& value, std::string* host, int* port);

}  // namespace fc::coord
