#include "tests/integration/cluster.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

namespace fc::itest {
namespace fs = std::filesystem;

std::string FindBinary(const std::string& name) {
  const char* b = std::getenv("FC_BUILD_DIR");
  if (!b || !*b) return "";
  std::error_code ec;
  // The usual places first; then a search that skips CMake's scratch directories.
  for (const char* sub : {"coordinator", "worker/agent", "cli", "bin", "."}) {
    fs::path p = fs::path(b) / sub / name;
    if (fs::is_regular_file(p, ec) && access(p.c_str(), X_OK) == 0) return p.string();
  }
  for (auto it = fs::recursive_directory_iterator(b, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_directory(ec) && it->path().filename() == "CMakeFiles") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->path().filename() == name && it->is_regular_file(ec) && access(it->path().c_str(), X_OK) == 0) {
      return it->path().string();
    }
  }
  return "";
}

std::unique_ptr<grpc::ClientContext> Ctx(int ms) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
  return c;
}

Cluster::Cluster(const std::string& test_name) {
  dir_ = (fs::temp_directory_path() / ("fc_itest_" + test_name + "_" + std::to_string(getpid()))).string();
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  coordinator_bin_ = FindBinary("fc-coordinator");
  worker_bin_ = FindBinary("fc-worker");
  fcctl_bin_ = FindBinary("fcctl");
}

Cluster::~Cluster() {
  for (auto& [name, w] : workers_) w->Kill();
  if (coordinator_) coordinator_->Kill();
  if (!std::getenv("FC_KEEP_TEST_DIRS")) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string Cluster::StartCoordinator(int port) {
  if (coordinator_bin_.empty()) return "fc-coordinator not found under $FC_BUILD_DIR";
  if (coordinator_) dead_coordinators_.push_back(std::move(coordinator_));
  int n = ++coordinator_starts_;
  std::string ready = dir_ + "/ready-" + std::to_string(n) + ".json";
  coordinator_ = std::make_unique<Subprocess>();
  std::vector<std::string> argv = {coordinator_bin_,
                                   "--listen", "127.0.0.1:" + std::to_string(port),
                                   "--http", "127.0.0.1:0",
                                   "--db", dir_ + "/fc.db",
                                   "--artifacts", dir_ + "/artifacts",
                                   "--lease-ttl-ms", std::to_string(kLeaseTtlMs),
                                   "--heartbeat-ms", std::to_string(kHeartbeatMs),
                                   "--retry-backoff-ms", "100",
                                   "--retry-backoff-max-ms", "500",
                                   "--ready-file", ready,
                                   "--log-level", "info"};
  if (!coordinator_->Start(argv, dir_ + "/coordinator-" + std::to_string(n) + ".log")) return "fork failed";
  nlohmann::json j;
  bool ok = WaitFor([&] {
    std::ifstream f(ready);
    if (!f) return false;
    j = nlohmann::json::parse(f, nullptr, false);
    return !j.is_discarded() && j.contains("grpc");
  }, 20s);
  if (!ok) return "coordinator wrote no ready file within 20 s:\n" + coordinator_->ReadLog();
  address_ = j["grpc"].get<std::string>();
  port_ = std::stoi(address_.substr(address_.rfind(':') + 1));
  Connect();
  return "";
}

void Cluster::KillCoordinator() {
  if (coordinator_) coordinator_->Kill();
}

void Cluster::Connect() {
  channel_ = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
  experiments_ = v1::ExperimentService::NewStub(channel_);
  admin_ = v1::AdminService::NewStub(channel_);
  worker_service_ = v1::WorkerService::NewStub(channel_);
}

Subprocess& Cluster::StartWorker(const std::string& name, int slots,
                                 const std::vector<std::string>& extra_args) {
  auto w = std::make_unique<Subprocess>();
  std::vector<std::string> argv = {worker_bin_.empty() ? "/nonexistent/fc-worker" : worker_bin_,
                                   "--coordinator", address_,
                                   "--device", "cpu",
                                   "--slots", std::to_string(slots),
                                   "--name", name,
                                   "--work-dir", dir_ + "/work-" + name,
                                   "--log-level", "info"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  w->Start(argv, dir_ + "/worker-" + name + ".log");
  Subprocess& ref = *w;
  workers_[name] = std::move(w);
  return ref;
}

CommandResult Cluster::Fcctl(std::vector<std::string> args, std::chrono::milliseconds timeout,
                             const std::string& stdin_text) {
  args.insert(args.begin(), {fcctl_bin_, "--coordinator", address_});
  return RunCommand(args, timeout, stdin_text);
}

std::string Cluster::Submit(const std::string& yaml, std::string* error) {
  v1::SubmitExperimentRequest req;
  req.set_spec(yaml);
  req.set_source_name("test.yaml");
  v1::SubmitExperimentReply reply;
  grpc::Status s = experiments_->SubmitExperiment(Ctx().get(), req, &reply);
  if (!s.ok()) {
    if (error) *error = s.error_message();
    return "";
  }
  return reply.experiment().id();
}

grpc::Status Cluster::GetExperiment(const std::string& id, v1::GetExperimentReply* reply) {
  v1::GetExperimentRequest req;
  req.set_id(id);
  return experiments_->GetExperiment(Ctx().get(), req, reply);
}

v1::GetExperimentReply Cluster::WaitExperimentDone(const std::string& id, std::chrono::milliseconds timeout) {
  v1::GetExperimentReply last;
  bool done = WaitFor([&] {
    v1::GetExperimentReply r;
    if (!GetExperiment(id, &r).ok()) return false;
    last = r;
    auto s = r.experiment().state();
    return s == v1::EXP_SUCCEEDED || s == v1::EXP_FAILED || s == v1::EXP_CANCELLED;
  }, timeout);
  if (!done) last.mutable_experiment()->set_state(v1::EXPERIMENT_STATE_UNSPECIFIED);
  return last;
}

std::vector<v1::Worker> Cluster::Workers() {
  v1::ListWorkersRequest req;
  v1::ListWorkersReply reply;
  if (!admin_->ListWorkers(Ctx().get(), req, &reply).ok()) return {};
  return {reply.workers().begin(), reply.workers().end()};
}

bool Cluster::WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(50ms);
  }
}

std::string Cluster::AllLogs() const {
  std::string out;
  auto tail = [](const std::string& s) { return s.size() > 6000 ? "..." + s.substr(s.size() - 6000) : s; };
  for (const auto& c : dead_coordinators_) out += "=== " + c->log_path() + " (earlier run)\n" + tail(c->ReadLog());
  if (coordinator_) out += "=== " + coordinator_->log_path() + "\n" + tail(coordinator_->ReadLog());
  for (const auto& [n, w] : workers_) out += "=== " + w->log_path() + "\n" + tail(w->ReadLog());
  return out;
}

}  // namespace fc::itest
