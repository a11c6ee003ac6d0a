#include "coordinator/server.h"

#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "coordinator/artifacts/artifact_service.h"
#include "coordinator/artifacts/blob_store.h"
#include "coordinator/http/http_server.h"
#include "coordinator/http/routes.h"
#include "coordinator/rpc/admin_service.h"
#include "coordinator/rpc/experiment_service.h"
#include "coordinator/rpc/rpc_metrics.h"
#include "coordinator/rpc/watch_hub.h"
#include "coordinator/rpc/worker_service.h"
#include "coordinator/tracking/ingester.h"
#include "coordinator/tracking/tracking_service.h"
#include "coordinator/store/store.h"

namespace fc::coord {

namespace {

constexpr int kMaxReceiveBytes = 16 << 20;
constexpr int kMaxSendBytes = 64 << 20;

std::string DialHost(const std::string& host) {
  if (host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]") return "127.0.0.1";
  return host;
}

Status WriteReadyFile(const std::string& path, const std::string& grpc, const std::string& http) {
  nlohmann::json j = {{"grpc", grpc}, {"http", http}, {"pid", static_cast<int64_t>(getpid())}};
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump() << "\n";
    out.flush();
    if (!out) return UnavailableError("flag --ready-file: cannot write '{}'", tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return UnavailableError("flag --ready-file: cannot rename '{}' to '{}'", tmp, path);
  }
  return Status::OK();
}

}  // namespace

Status ParseHostPort(const std::string& flag, const std::string& value, std::string* host, int* port) {
  size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon + 1 >= value.size()) {
    return InvalidArgumentError("flag {}: expected HOST:PORT, got '{}'", flag, value);
  }
  *host = value.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') *host = host->substr(1, host->size() - 2);
  try {
    size_t used = 0;
    *port = std::stoi(value.substr(colon + 1), &used);
    if (used != value.size() - colon - 1 || *port < 0 || *port > 65535) throw std::out_of_range("port");
  } catch (...) {
    return InvalidArgumentError("flag {}: port must be in [0, 65535], got '{}'", flag, value.substr(colon + 1));
  }
  return Status::OK();
}

StatusOr<std::unique_ptr<Server>> Server::Start(const Config& config) {
  std::unique_ptr<Server> s(new Server());
  Status st = s->Init(config);
  if (!st.ok()) {
    s->Shutdown();
    return st;
  }
  return s;
}

Status Server::Init(const Config& config) {
  config_ = config;
  if (config.db_path.empty()) return InvalidArgumentError("flag --db: required");
  if (config.lease_ttl_ms <= 0 || config.heartbeat_ms <= 0 || config.heartbeat_ms >= config.lease_ttl_ms) {
    return InvalidArgumentError("flags --heartbeat-ms ({}) and --lease-ttl-ms ({}): need 0 < heartbeat < lease TTL",
                                config.heartbeat_ms, config.lease_ttl_ms);
  }
  if (config.retry_backoff_ms < 0 || config.retry_backoff_max_ms < config.retry_backoff_ms) {
    return InvalidArgumentError("flags --retry-backoff-ms ({}) / --retry-backoff-max-ms ({}): need 0 <= backoff <= max",
                                config.retry_backoff_ms, config.retry_backoff_max_ms);
  }
  int gport = 0, hport = 0;
  FC_RETURN_IF_ERROR(ParseHostPort("--listen", config.grpc_listen, &grpc_host_, &gport));
  FC_RETURN_IF_ERROR(ParseHostPort("--http", config.http_listen, &http_host_, &hport));
  if (!config.artifacts_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(config.artifacts_dir, ec);
    if (ec) return UnavailableError("flag --artifacts: cannot create '{}': {}", config.artifacts_dir, ec.message());
    auto blobs = artifacts::BlobStore::Open(config.artifacts_dir);
    if (!blobs.ok()) return blobs.status().WithContext("flag --artifacts");
    blob_store_ = std::move(*blobs);
  }

  work_ = std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(io_.get_executor());
  io_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "io");
    io_.run();
  });

  store::Store::Options so;
  so.path = config.db_path;
  so.readers = config.readers;
  FC_ASSIGN_OR_RETURN(store_, store::Store::Open(so, [this](std::function<void()> f) { boost::asio::post(io_, std::move(f)); }, &metrics_));
  store::Snapshot snap = store_->TakeSnapshot();
  hub_ = std::make_unique<rpc::WatchHub>(snap.max_event_seq);

  SchedulerConfig sc;
  sc.lease_ttl_ms = config.lease_ttl_ms;
  sc.heartbeat_ms = config.heartbeat_ms;
  sc.retry_backoff_ms = config.retry_backoff_ms;
  sc.retry_backoff_max_ms = config.retry_backoff_max_ms;
  store::Writer* writer = &store_->writer();
  scheduler_ = std::make_unique<Scheduler>(
      sc, &clock_,
      [writer](store::WriteBatch b, Scheduler::CommitDone done) { writer->Submit(std::move(b), std::move(done)); },
      &metrics_);
  rpc::WatchHub* hub = hub_.get();
  auto ingester = tracking::CircuitIngester::Start(config.db_path, blob_store_.get());
  if (!ingester.ok()) return ingester.status();
  ingester_ = std::move(*ingester);
  tracking::CircuitIngester* ing = ingester_.get();
  auto shared_snap = std::make_shared<store::Snapshot>(std::move(snap));
  const artifacts::BlobStore* blobs = blob_store_.get();
  RunOnIo([hub, ing, shared_snap, blobs](Scheduler& s) {
    s.SetArtifactStore(blobs);
    s.Recover(std::move(*shared_snap));
    s.SetEventSink([hub](const std::vector<EventRow>& events) { hub->Publish(events); });
    s.SetCircuitSink([ing](const std::vector<std::string>& ids) { ing->Enqueue(ids); });
  });
  tick_ = std::make_unique<boost::asio::steady_timer>(io_);
  boost::asio::post(io_, [this] { ArmTick(); });

  rpc_metrics_ = std::make_unique<rpc::RpcMetrics>(&metrics_);
  rpc::ServiceContext ctx;
  ctx.io = &io_;
  ctx.scheduler = scheduler_.get();
  ctx.store = store_.get();
  ctx.hub = hub_.get();
  ctx.metrics = rpc_metrics_.get();
  ctx.heartbeat_ms = static_cast<int32_t>(config.heartbeat_ms);
  ctx.lease_ttl_ms = static_cast<int32_t>(config.lease_ttl_ms);
  experiment_service_ = std::make_unique<rpc::ExperimentService>(ctx);
  worker_service_ = std::make_unique<rpc::WorkerService>(ctx);
  admin_service_ = std::make_unique<rpc::AdminService>(ctx);
  tracking_service_ = std::make_unique<tracking::TrackingService>(&store_->readers(), blob_store_.get());
  if (blob_store_) {
    artifacts::ArtifactServiceOptions ao;
    ao.metrics = &metrics_;
    artifact_service_ = std::make_unique<artifacts::ArtifactService>(blob_store_.get(), ao);
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  std::string listen = grpc_host_.find(':') != std::string::npos
                           ? fmt::format("[{}]:{}", grpc_host_, gport)
                           : fmt::format("{}:{}", grpc_host_.empty() ? "0.0.0.0" : grpc_host_, gport);
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &grpc_port_);
  builder.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  builder.SetMaxSendMessageSize(kMaxSendBytes);
  builder.RegisterService(experiment_service_.get());
  builder.RegisterService(worker_service_.get());
  builder.RegisterService(admin_service_.get());
  builder.RegisterService(tracking_service_.get());
  if (artifact_service_) builder.RegisterService(artifact_service_.get());
  grpc_ = builder.BuildAndStart();
  if (!grpc_ || grpc_port_ == 0) return UnavailableError("flag --listen: cannot listen on {}", config.grpc_listen);
  grpc_->GetHealthCheckService()->SetServingStatus(true);

  Scheduler* sched = scheduler_.get();
  metrics::Registry* reg = &metrics_;
  const std::string db = config.db_path;
  FC_ASSIGN_OR_RETURN(http_, http::HttpServer::Start(http_host_, hport, [this, sched, reg, db]() -> http::HttpServer::Handler {
    auto conn_or = store::Connection::Open(db, /*read_only=*/true);
    std::shared_ptr<store::Connection> conn(conn_or.ok() ? std::move(*conn_or).release() : nullptr);
    auto workers = [this](bool dead) -> StatusOr<std::vector<WorkerView>> {
      auto p = std::make_shared<std::promise<std::vector<WorkerView>>>();
      auto f = p->get_future();
      boost::asio::post(io_, [this, p, dead] { p->set_value(scheduler_->ListWorkers(dead)); });
      if (f.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
        return UnavailableError("scheduler busy or shutting down");
      }
      return f.get();
    };
    auto health = [this]() -> Status {
      bool failed = false;
      {
        std::lock_guard<std::mutex> l(shutdown_mu_);
        if (shut_down_) return UnavailableError("shutting down");
      }
      Status s = store_->writer().failed();
      if (!s.ok()) return s;
      (void)failed;
      return Status::OK();
    };
    auto routes = std::make_shared<http::Routes>(conn.get(), workers, health, reg, blob_store_.get());
    return [routes, conn](const std::string& m, const std::string& t) -> http::Response {
      if (!conn) return {503, "text/plain", "no database connection\n"};
      return routes->Handle(m, t);
    };
  }));
  http_port_ = http_->port();
  (void)sched;

  if (!config.ready_file.empty()) FC_RETURN_IF_ERROR(WriteReadyFile(config.ready_file, grpc_address(), http_address()));
  spdlog::info("fc-coordinator serving grpc={} http={} db={} lease_ttl_ms={} heartbeat_ms={}", grpc_address(),
               http_address(), config.db_path, config.lease_ttl_ms, config.heartbeat_ms);
  return Status::OK();
}

void Server::ArmTick() {
  tick_->expires_after(std::chrono::milliseconds(config_.tick_ms));
  tick_->async_wait([this](const boost::system::error_code& ec) {
    // cancel() cannot stop a wait that already completed, so shutdown also sets the flag.
    if (ec || ticking_stopped_) return;
    scheduler_->OnTimer();
    ArmTick();
  });
}

std::string Server::grpc_address() const { return fmt::format("{}:{}", DialHost(grpc_host_), grpc_port_); }
std::string Server::http_address() const { return fmt::format("{}:{}", DialHost(http_host_), http_port_); }

void Server::Shutdown() {
  {
    std::lock_guard<std::mutex> l(shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  spdlog::info("fc-coordinator shutting down");
  // Shutdown() (not just NOT_SERVING) also ends the health service's own pending calls, which
  // would otherwise hold grpc::Server::Shutdown until its deadline.
  if (grpc_ && grpc_->GetHealthCheckService()) grpc_->GetHealthCheckService()->Shutdown();
  if (io_thread_.joinable() && scheduler_) {
    boost::asio::post(io_, [this] { scheduler_->FlushWaiters(); });
  }
  if (grpc_) grpc_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  spdlog::debug("grpc server stopped");
  if (http_) http_->Stop();
  spdlog::debug("http server stopped");
  if (io_thread_.joinable() && tick_) {
    std::promise<void> p;
    boost::asio::post(io_, [this, &p] {
      ticking_stopped_ = true;
      tick_->cancel();
      scheduler_->FlushWaiters();
      p.set_value();
    });
    p.get_future().wait();
  }
  if (store_) store_->writer().Stop();  // commits what is queued; completions post to io
  work_.reset();
  if (io_thread_.joinable()) io_thread_.join();
  grpc_.reset();
  ingester_.reset();  // joins its thread, which reads blob_store_ (destroyed before it)
  store_.reset();
  done_.set_value();
}

void Server::Wait() { done_future_.wait(); }

Server::~Server() { Shutdown(); }

}  // namespace fc::coord
