#include "tests/e2e/engine_cluster_test.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace fc::e2e {

using namespace std::chrono_literals;

void EngineClusterTest::SetUp() {
  // The workers inherit this environment: one OpenMP thread each (CI has 2 cores for all tests),
  // and the build dir the binaries are found in when ctest did not pass it.
  setenv("OMP_NUM_THREADS", "1", 1);
  setenv("FC_BUILD_DIR", FC_E2E_BUILD_DIR, 0);
  ClusterTest::SetUp();
}

void EngineClusterTest::StartCluster(const std::vector<std::string>& workers) {
  StartCoordinatorOrDie();
  std::ifstream f(cluster_->dir() + "/ready-1.json");
  nlohmann::json ready = nlohmann::json::parse(f, nullptr, false);
  ASSERT_FALSE(ready.is_discarded());
  http_ = ready.value("http", "");
  ASSERT_NE(http_, "") << ready.dump();
  for (const std::string& w : workers) cluster_->StartWorker(w, 1);
  if (!workers.empty()) WaitWorkersAlive(workers);
}

void EngineClusterTest::StartWorkerWithLabels(const std::string& name, const std::string& labels) {
  cluster_->StartWorker(name, 1, {"--labels", labels});
  WaitWorkersAlive({name});
}

StoreReader& EngineClusterTest::store() {
  if (!store_) store_ = std::make_unique<StoreReader>(cluster_->dir() + "/fc.db");
  return *store_;
}

std::map<std::string, std::string> EngineClusterTest::WorkerNames() {
  std::map<std::string, std::string> out;
  for (const v1::Worker& w : cluster_->Workers()) out[w.id()] = w.name();
  return out;
}

nlohmann::json EngineClusterTest::FcctlJson(const std::vector<std::string>& args) {
  std::vector<std::string> a = {"--http", http_};
  a.insert(a.end(), args.begin(), args.end());
  a.insert(a.end(), {"-o", "json"});
  itest::CommandResult r = cluster_->Fcctl(a, 30s);
  std::string cmd = "fcctl";
  for (const auto& s : a) cmd += " " + s;
  if (r.exit_code != 0) {
    ADD_FAILURE() << cmd << " exited " << r.exit_code << ":\n" << r.out << r.err;
    return nullptr;
  }
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_discarded()) {
    ADD_FAILURE() << cmd << " printed no JSON:\n" << r.out;
    return nullptr;
  }
  return j;
}

int EngineClusterTest::RunLocal(const std::string& kind, const std::map<std::string, std::string>& params,
                                const std::string& out_dir) {
  std::vector<std::string> argv = {itest::FindBinary("fc-worker"), "run", kind};
  for (const auto& [k, v] : params) argv.insert(argv.end(), {"--param", k + "=" + v});
  argv.insert(argv.end(), {"--out", out_dir});
  itest::CommandResult r = itest::RunCommand(argv, 120s);
  std::ofstream(out_dir + ".log") << r.out << r.err;
  if (r.exit_code != 0) ADD_FAILURE() << "fc-worker run " << kind << " exited " << r.exit_code << ":\n" << r.out << r.err;
  return r.exit_code;
}

std::string EngineClusterTest::OutputUri(const std::string& exp, const std::string& job, const std::string& name) {
  v1::Job j = GetJobByName(exp, job);
  for (const v1::Artifact& a : j.outputs()) {
    if (name.empty() || a.name() == name) return a.uri();
  }
  return "";
}

}  // namespace fc::e2e
