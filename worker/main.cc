// fc-worker: the worker process.
//   fc-worker --coordinator HOST:PORT --device cpu|cuda:N --slots N --name NAME
//             [--labels k=v,...] [--gpus N] [--gpu-memory-mb N] [--work-dir DIR]
//             [--log-level L] [--drain-grace-s S] [--rpc-timeout-ms MS] [--shared-artifacts DIR]
//     registers with the coordinator and runs leased jobs until SIGTERM/SIGINT (drain: finish or
//     hand back running jobs within the grace period, exit 0; a second signal hands back now).
//   fc-worker run KIND --param key=value ... --out DIR [--device D]
//     runs one job of KIND locally, no coordinator; writes DIR/result.json. Exit 0 on success,
//     2 for bad parameters or an unknown kind, 1 for any other failure.
// Built without LibTorch it runs the built-in kinds (sleep, fail); the engine's kinds are
// registered through worker/agent/engine_hook.h when built with FC_HAVE_ENGINE.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/ranges.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "common/status.h"
#include "worker/agent/agent.h"
#include "worker/agent/builtin_executors.h"
#include "worker/agent/engine_hook.h"
#include "worker/agent/executor_registry.h"
#include "worker/agent/local_run.h"
#include "worker/agent/params.h"

namespace {

fc::StatusOr<std::map<std::string, std::string>> ParseLabels(const std::string& s) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t comma = s.find(',', start);
    std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? s.size() : comma + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return fc::InvalidArgumentError("--labels: '{}' is not key=value", item);
    }
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

bool ValidDevice(const std::string& d) {
  if (d == "cpu") return true;
  if (d.rfind("cuda:", 0) != 0 || d.size() == 5) return false;
  return d.find_first_not_of("0123456789", 5) == std::string::npos;
}

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Must run before any thread exists (gRPC starts threads when a channel is made): threads
// inherit the mask, so SIGINT/SIGTERM then reach only the sigwait thread below.
void BlockStopSignals() {
  sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// Handles SIGINT/SIGTERM on one thread: the first calls on_first, later ones on_again.
template <typename F1, typename F2>
void HandleSignalsOnThread(F1 on_first, F2 on_again) {
  sigset_t set = StopSignals();
  std::thread([set, on_first, on_again] {
    int n = 0;
    while (true) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      spdlog::info("received signal {}", sig);
      if (n++ == 0) {
        on_first();
      } else {
        on_again();
      }
    }
  }).detach();
}

}  // namespace

int main(int argc, char** argv) {
  BlockStopSignals();
  CLI::App app{"fc-worker: FinetuneCircuits worker"};
  fc::agent::AgentConfig cfg;
  std::string labels, log_level = "info";
  double drain_grace_s = 30;
  app.add_option("--coordinator", cfg.coordinator, "coordinator gRPC address HOST:PORT");
  app.add_option("--device", cfg.device, "cpu | cuda:N")->capture_default_str();
  app.add_option("--slots", cfg.slots, "jobs run at once")->capture_default_str();
  app.add_option("--name", cfg.name, "stable worker name");
  app.add_option("--labels", labels, "k=v,k2=v2 matched against job label requirements");
  app.add_option("--gpus", cfg.gpus, "GPUs this worker offers")->capture_default_str();
  app.add_option("--gpu-memory-mb", cfg.gpu_memory_mb, "memory per GPU in MiB")->capture_default_str();
  app.add_option("--work-dir", cfg.work_dir, "job output directories")->capture_default_str();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error")->capture_default_str();
  app.add_option("--drain-grace-s", drain_grace_s, "SIGTERM: seconds before running jobs are handed back")
      ->capture_default_str();
  app.add_option("--rpc-timeout-ms", cfg.rpc_timeout_ms, "deadline of each RPC")->capture_default_str();
  app.add_option("--shared-artifacts", cfg.shared_artifacts,
                 "artifact store directory shared with the coordinator (default: transfer over gRPC)");

  CLI::App* run = app.add_subcommand("run", "run one job locally, without a coordinator");
  std::string run_kind, run_out;
  std::vector<std::string> run_params;
  run->add_option("kind", run_kind, "job kind")->required();
  run->add_option("--param", run_params, "key=value (repeatable)");
  run->add_option("--out", run_out, "output directory (result.json)")->required();
  app.require_subcommand(0, 1);
  CLI11_PARSE(app, argc, argv);

  auto logger = spdlog::stderr_color_mt("fc-worker");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %n: %v");
  spdlog::set_level(spdlog::level::from_str(log_level));

  if (!ValidDevice(cfg.device)) {
    fmt::print(stderr, "fc-worker: --device must be cpu or cuda:N, got '{}'\n", cfg.device);
    return 2;
  }
  fc::agent::ExecutorRegistry registry;
  fc::Status reg = fc::agent::RegisterBuiltinExecutors(&registry);
#ifdef FC_HAVE_ENGINE
  if (reg.ok()) reg = fc::jobs::RegisterEngineExecutors(&registry);
  cfg.engine_version += "+engine";
#endif
  if (!reg.ok()) {
    fmt::print(stderr, "fc-worker: {}\n", reg.ToString());
    return 1;
  }

  if (run->parsed()) {
    auto params = fc::agent::ParseKeyValueParams(run_params);
    if (!params.ok()) {
      fmt::print(stderr, "fc-worker run: {}\n", params.status().message());
      return 2;
    }
    auto cancel = std::make_shared<fc::agent::CancelToken>();
    HandleSignalsOnThread([cancel] { cancel->Cancel(); }, [] { std::_Exit(130); });
    fc::agent::LocalRunOptions opts;
    opts.kind = run_kind;
    opts.params = *params;
    opts.out_dir = run_out;
    opts.device = cfg.device;
    opts.cancel = cancel;
    opts.progress = [](double p, const std::string& m, const nlohmann::json&) {
      spdlog::info("progress {:.0f}% {}", p * 100, m);
    };
    fc::Status s = fc::agent::RunLocal(registry, opts);
    if (!s.ok()) {
      fmt::print(stderr, "fc-worker run {}: {}\n", run_kind, s.ToString());
      return fc::agent::IsPermanentFailure(s.code()) ? 2 : 1;
    }
    fmt::print("{}/result.json\n", run_out);
    return 0;
  }

  if (cfg.name.empty() || app.count("--coordinator") == 0) {
    fmt::print(stderr, "fc-worker: --coordinator HOST:PORT and --name NAME are required\n{}",
               app.help());
    return 2;
  }
  auto parsed_labels = ParseLabels(labels);
  if (!parsed_labels.ok()) {
    fmt::print(stderr, "fc-worker: {}\n", parsed_labels.status().message());
    return 2;
  }
  cfg.labels = *parsed_labels;
  cfg.drain_grace_ms = static_cast<int>(drain_grace_s * 1000);
  fc::agent::Agent agent(cfg, &registry);
  HandleSignalsOnThread([&agent] { agent.RequestDrain(); }, [&agent] { agent.RequestStop(); });
  fc::Status s = agent.Run();
  if (!s.ok()) {
    fmt::print(stderr, "fc-worker: {}\n", s.ToString());
    return s.code() == fc::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}
