// fc-coordinator: flags -> Config -> Server; SIGTERM/SIGINT shut down gracefully.
//   fc-coordinator --listen HOST:PORT --http HOST:PORT --db PATH --artifacts DIR
//     [--lease-ttl-ms N] [--heartbeat-ms N] [--retry-backoff-ms N] [--retry-backoff-max-ms N]
//     [--ready-file PATH] [--log-level info|debug|warn] [--log-json]
#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "coordinator/server.h"

int main(int argc, char** argv) {
  fc::coord::Config config;
  std::string log_level = "info";
  bool log_json = false;
  CLI::App app{"FinetuneCircuits coordinator: scheduler, store, gRPC and HTTP APIs"};
  app.add_option("--listen", config.grpc_listen, "gRPC HOST:PORT (port 0 = any)")->required();
  app.add_option("--http", config.http_listen, "HTTP HOST:PORT (port 0 = any)")->required();
  app.add_option("--db", config.db_path, "SQLite database file (created if missing)")->required();
  app.add_option("--artifacts", config.artifacts_dir, "artifact store directory")->required();
  app.add_option("--lease-ttl-ms", config.lease_ttl_ms, "lease TTL")->default_val(15000)->check(CLI::PositiveNumber);
  app.add_option("--heartbeat-ms", config.heartbeat_ms, "heartbeat interval told to workers")->default_val(2000)->check(CLI::PositiveNumber);
  app.add_option("--retry-backoff-ms", config.retry_backoff_ms, "first retry backoff")->default_val(1000)->check(CLI::NonNegativeNumber);
  app.add_option("--retry-backoff-max-ms", config.retry_backoff_max_ms, "retry backoff cap")->default_val(60000)->check(CLI::NonNegativeNumber);
  app.add_option("--ready-file", config.ready_file, "JSON {grpc, http, pid} written once serving");
  app.add_option("--log-level", log_level, "log level")->check(CLI::IsMember({"debug", "info", "warn"}));
  app.add_flag("--log-json", log_json, "log one JSON object per line");
  CLI11_PARSE(app, argc, argv);

  spdlog::set_level(spdlog::level::from_str(log_level));
  if (log_json) {
    spdlog::set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","thread":%t,"msg":"%v"})", spdlog::pattern_time_type::utc);
  }
  // Block the signals in every thread; the main thread waits for them synchronously.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = fc::coord::Server::Start(config);
  if (!server.ok()) {
    spdlog::error("fc-coordinator failed to start: {}", server.status().ToString());
    return 2;
  }
  int sig = 0;
  sigwait(&sigs, &sig);
  spdlog::info("signal {} received", sig);
  (*server)->Shutdown();
  std::move(server).value().reset();
  spdlog::info("fc-coordinator stopped");
  spdlog::shutdown();
  // Everything is committed and closed; skip gRPC's library teardown, which can idle for
  // seconds waiting on its internal threads.
  std::fflush(nullptr);
  _exit(0);
}
