// Shared helpers of the job-kind tests: run an executor in process with a real JobContext, and
// a tiny dataset + base model made through the dataset and train_base kinds themselves.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "worker/agent/engine_hook.h"
#include "worker/agent/executor.h"
#include "worker/agent/executor_registry.h"

namespace fc::jobs::testing {

namespace fs = std::filesystem;

struct Ran {
  Status status;
  std::vector<agent::ArtifactRef> outputs;
  nlohmann::json result;
  std::vector<nlohmann::json> metrics;  // every non-null progress metrics object, in order
  std::string out;

  std::string Output(const std::string& name) const {
    for (const auto& a : outputs) {
      if (a.name == name) return a.uri;
    }
    ADD_FAILURE() << "no output '" << name << "'";
    return "";
  }
  bool HasOutput(const std::string& name) const {
    for (const auto& a : outputs) {
      if (a.name == name) return true;
    }
    return false;
  }
};

inline Ran RunKind(const std::string& kind, const nlohmann::json& params, const std::string& out,
                   std::map<std::string, agent::DependencyOutput> inputs = {},
                   std::shared_ptr<const agent::CancelToken> cancel = nullptr) {
  agent::ExecutorRegistry registry;
  Status reg = RegisterEngineExecutors(&registry);
  EXPECT_TRUE(reg.ok()) << reg.ToString();
  fs::create_directories(out);
  auto metrics = std::make_shared<std::vector<nlohmann::json>>();
  agent::JobContext ctx("test/" + kind, kind, params, std::move(inputs), out, "cpu", std::move(cancel),
                        [metrics](double, const std::string&, const nlohmann::json& m) {
                          if (!m.is_null()) metrics->push_back(m);
                        });
  auto executor = registry.Create(kind);
  EXPECT_TRUE(executor.ok()) << executor.status().ToString();
  Ran r;
  r.status = executor.ok() ? (*executor)->Run(ctx) : executor.status();
  r.outputs = ctx.outputs();
  r.result = ctx.result();
  r.metrics = *metrics;
  r.out = out;
  return r;
}

inline nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return nlohmann::json::parse(in, nullptr, false);
}

// A fresh temp dir per test (removed at exit of the fixture).
class JobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("fc_jobs_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  std::string Dir(const std::string& name) const { return dir_ + "/" + name; }

  // dataset (add/sub within 12, 150 rows, 30 circuit rows) and a 2-layer base model.
  void MakeDataAndBase() {
    data_ = RunKind("dataset", {{"task", "add_sub"}, {"max_operand", 12}, {"size", 150},
                                {"circuit_fraction", 0.2}, {"seed", 7}},
                    Dir("data"));
    ASSERT_TRUE(data_.status.ok()) << data_.status.ToString();
    base_ = RunKind("train_base", {{"data", data_.Output("ft")}, {"layers", 2}, {"heads", 2}, {"d_model", 32},
                                   {"max_positions", 128}, {"steps", 20}, {"batch_size", 16}, {"lr", 3e-3}},
                    Dir("base"));
    ASSERT_TRUE(base_.status.ok()) << base_.status.ToString();
  }

  nlohmann::json DiscoverParams() const {
    return {{"model", base_.Output("model")}, {"data", data_.Output("circuit")}, {"ig_steps", 3},
            {"top", "20%"}, {"batch_size", 10}};
  }
  nlohmann::json LoraParams() const {
    return {{"model", base_.Output("model")}, {"data", data_.Output("ft")}, {"eval_data", data_.Output("circuit")},
            {"method", "lora"}, {"rank", 4}, {"alpha", 8.0}, {"lr", 1e-2}, {"steps", 4}, {"batch_size", 8},
            {"grad_accum", 1}, {"warmup", 1}, {"checkpoint_every", 2}, {"max_length", 128}};
  }

  std::string dir_;
  Ran data_, base_;
};

}  // namespace fc::jobs::testing
