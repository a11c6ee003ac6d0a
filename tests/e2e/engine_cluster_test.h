// EngineClusterTest: a gtest fixture for end-to-end runs of real processes with the LibTorch
// engine - one fc-coordinator (SQLite and artifact store in a temp dir, port 0, ready file, lease
// TTL 1.5 s) and fc-worker processes started by the test (each its own --work-dir, so its own
// artifact cache), built on tests/integration's Cluster. Every process is SIGKILLed and reaped
// when the fixture ends (also on failure); their logs are printed when a test failed.
//
// Besides the APIs, a test can look at what the coordinator stored: its database (store()),
// its artifact directory (artifacts_dir()) and the tracking documents through the real fcctl.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/e2e/store_reader.h"
#include "tests/integration/fixture.h"

namespace fc::e2e {

class EngineClusterTest : public itest::ClusterTest {
 protected:
  void SetUp() override;

  // Starts the coordinator and the named workers (1 slot each) and waits until all are alive.
  void StartCluster(const std::vector<std::string>& workers);
  void StartWorkerWithLabels(const std::string& name, const std::string& labels);

  std::string http_address() const { return http_; }
  std::string artifacts_dir() const { return cluster_->dir() + "/artifacts"; }
  StoreReader& store();
  // worker id -> worker name, for every registered worker.
  std::map<std::string, std::string> WorkerNames();

  // Runs the real fcctl with --http and `-o json`; the parsed stdout, or a null json with a
  // test failure naming the command and its output.
  nlohmann::json FcctlJson(const std::vector<std::string>& args);

  // Runs `fc-worker run <kind> --param k=v ... --out out_dir` (the engine without a
  // coordinator); returns its exit code (output in out_dir/result.json, log in out_dir.log).
  int RunLocal(const std::string& kind, const std::map<std::string, std::string>& params,
               const std::string& out_dir);

  // The output `name` of job `job` ("" = its first output) in experiment `exp`, "" if absent.
  std::string OutputUri(const std::string& exp, const std::string& job, const std::string& name = "");

 private:
  std::string http_;
  std::unique_ptr<StoreReader> store_;
};

}  // namespace fc::e2e
