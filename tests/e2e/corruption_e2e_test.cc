// Artifact corruption end to end: a dataset is produced by one real fc-worker and stored by the
// coordinator; the test flips one byte of the stored blob (as a failing disk would); then a
// second worker with an empty cache gets the job that consumes it. The corruption must be caught
// (DATA_LOSS, naming the blob), the damaged copy quarantined in the store, and nothing may run
// on it. Job labels pin each job to its worker, so the order of events is fixed.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/engine_cluster_test.h"
#include "tests/e2e/store_files.h"

namespace fc::e2e {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kProduceConsume = R"(experiment: e2e_corruption
defaults: {device: cpu}
jobs:
  data: {kind: dataset, task: add_sub, max_operand: 20, size: 100, seed: 7, labels: {stage: produce}}
  base:
    {kind: train_base, data: data.ft, layers: 1, heads: 2, d_model: 16, max_positions: 128,
     steps: 2, batch_size: 4, retries: 0, labels: {stage: consume}}
)";

// Every path under `root` whose file or directory name contains `needle`.
std::vector<std::string> PathsNaming(const std::string& root, const std::string& needle) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->path().filename().string().find(needle) != std::string::npos) out.push_back(it->path().string());
  }
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class CorruptionE2e : public EngineClusterTest {};

TEST_F(CorruptionE2e, AFlippedByteInAStoredBlobFailsTheConsumerWithDataLossAndIsQuarantined) {
  StartCluster({});
  StartWorkerWithLabels("producer", "stage=produce");
  std::string err;
  const std::string exp = cluster_->Submit(kProduceConsume, &err);
  ASSERT_NE(exp, "") << err;
  ASSERT_TRUE(WaitJobState(exp, "data", v1::SUCCEEDED, 60s)) << GetJobByName(exp, "data").error();
  // No worker takes `consume` jobs yet: base waits.
  EXPECT_NE(GetJobByName(exp, "base").state(), v1::RUNNING);

  const std::string uri = OutputUri(exp, "data", "ft");
  const std::string sha = BlobSha(uri);
  ASSERT_EQ(sha.size(), 64u) << "data.ft was not stored as a blob: " << uri;
  ASSERT_TRUE(fs::is_regular_file(BlobPath(artifacts_dir(), sha)));
  ASSERT_EQ(FlipStoredByte(artifacts_dir(), sha, 10), "");

  const std::string consumer_dir = cluster_->dir() + "/work-consumer";
  ASSERT_FALSE(fs::exists(consumer_dir)) << "the consumer's cache must start empty";
  StartWorkerWithLabels("consumer", "stage=consume");

  v1::GetExperimentReply r = cluster_->WaitExperimentDone(exp, 90s);
  ASSERT_EQ(r.experiment().state(), v1::EXP_FAILED);
  v1::Job base = JobsByName(r)["base"];
  EXPECT_EQ(base.state(), v1::FAILED);
  EXPECT_EQ(base.attempt(), 1);
  // The failure says what happened and to which blob.
  EXPECT_NE(Lower(base.error()).find("data_loss"), std::string::npos) << base.error();
  EXPECT_NE(base.error().find(sha), std::string::npos) << base.error();
  auto attempts = store().Query("SELECT outcome, error FROM attempts WHERE job_id = ?1", {exp + "/base"});
  ASSERT_EQ(attempts.size(), 1u) << store().error();
  EXPECT_NE(attempts[0].at("error").find(sha), std::string::npos) << attempts[0].at("error");
  EXPECT_NE(cluster_->worker("consumer").ReadLog().find(sha), std::string::npos);

  // The damaged copy left the store's blob directory for corrupt/, so it is never served again.
  EXPECT_FALSE(fs::exists(BlobPath(artifacts_dir(), sha)));
  EXPECT_EQ(QuarantinedCopies(artifacts_dir(), sha).size(), 1u);
  // The consumer kept nothing of it and never ran on it: no cached blob, file or tree; the
  // resumable partial download holds no byte (the server checks the hash before it sends the
  // last chunk); no training input or model.
  for (const char* sub : {"/cache/blobs", "/cache/files", "/cache/trees"}) {
    EXPECT_EQ(PathsNaming(consumer_dir + sub, sha), std::vector<std::string>{}) << sub;
  }
  for (const std::string& part : PathsNaming(consumer_dir + "/cache/tmp", sha)) {
    EXPECT_EQ(fs::file_size(part), 0u) << part;
  }
  std::vector<std::string> results = ResultFiles("consumer");
  ASSERT_EQ(results.size(), 1u);
  std::ifstream rf(results[0]);
  nlohmann::json result = nlohmann::json::parse(rf, nullptr, false);
  EXPECT_EQ(result.value("status", ""), "DATA_LOSS") << results[0];
  EXPECT_EQ(PathsNaming(consumer_dir, "ft.jsonl"), std::vector<std::string>{});
  EXPECT_EQ(PathsNaming(consumer_dir, "model.safetensors"), std::vector<std::string>{});
}

}  // namespace
}  // namespace fc::e2e
