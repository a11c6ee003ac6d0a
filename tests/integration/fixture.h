// ClusterTest: a gtest fixture owning one Cluster; prints every process's log when a test fails.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/cluster.h"

namespace fc::itest {

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<Cluster>(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override {
    if (HasFailure() && cluster_) std::cerr << "---- process logs ----\n" << cluster_->AllLogs();
  }
  void StartCoordinatorOrDie() {
    std::string err = cluster_->StartCoordinator();
    ASSERT_EQ(err, "");
  }
  // Waits until the named workers are registered and alive.
  void WaitWorkersAlive(const std::vector<std::string>& names) {
    bool ok = Cluster::WaitFor([&] {
      int alive = 0;
      for (const v1::Worker& w : cluster_->Workers()) {
        for (const std::string& n : names) alive += (w.name() == n && w.alive()) ? 1 : 0;
      }
      return alive == static_cast<int>(names.size());
    }, 15s);
    ASSERT_TRUE(ok) << "workers did not register";
  }
  static std::map<std::string, v1::Job> JobsByName(const v1::GetExperimentReply& r) {
    std::map<std::string, v1::Job> out;
    for (const v1::Job& j : r.jobs()) out[j.name()] = j;
    return out;
  }
  // The job (by name) of an experiment, or a default Job when it cannot be read.
  v1::Job GetJobByName(const std::string& exp, const std::string& name) {
    v1::GetExperimentReply r;
    if (!cluster_->GetExperiment(exp, &r).ok()) return {};
    auto jobs = JobsByName(r);
    return jobs.count(name) ? jobs[name] : v1::Job();
  }
  // Waits until the job is in `state`.
  bool WaitJobState(const std::string& exp, const std::string& name, v1::JobState state,
                    std::chrono::milliseconds timeout) {
    return Cluster::WaitFor([&] { return GetJobByName(exp, name).state() == state; }, timeout);
  }
  // result.json files a worker wrote: one per attempt it ran.
  std::vector<std::string> ResultFiles(const std::string& worker) {
    std::vector<std::string> out;
    std::error_code ec;
    std::filesystem::path root = cluster_->dir() + "/work-" + worker;
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (it->path().filename() == "result.json") out.push_back(it->path().string());
    }
    return out;
  }

  std::unique_ptr<Cluster> cluster_;
};

}  // namespace fc::itest
