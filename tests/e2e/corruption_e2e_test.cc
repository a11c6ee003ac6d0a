// Artifact corruption end to end: an artifact (a file, or a file inside a model folder) is
// produced by one real fc-worker and stored by the coordinator; the test flips one byte of the
// stored blob (as a failing disk would); then a second worker with an empty cache gets the job
// that consumes it. The corruption must be caught
// (DATA_LOSS, naming the blob), the damaged copy quarantined in the store, and nothing may run
// on it. Job labels pin each job to its worker, so the order of events is fixed. Then the same
// DAG is submitted again (`fcctl submit --key again`): the producer is not taken from the cache
// (its output's blob is gone) but runs again, and the run succeeds.
#include <filesystem>
#include <fstream>
#include <functional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/engine_cluster_test.h"
#include "tests/e2e/store_files.h"

namespace fc::e2e {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A single-file artifact: the dataset's training rows, read by train_base.
constexpr const char* kFileCase = R"(experiment: e2e_corrupt_file
defaults: {device: cpu}
jobs:
  data:
    {kind: dataset, task: add_sub, max_operand: 20, size: 100, prefix: false, seed: 7,
     labels: {stage: produce}}
  consumer:
    {kind: train_base, data: data.ft, layers: 1, heads: 2, d_model: 16, max_positions: 32,
     steps: 2, batch_size: 4, retries: 0, labels: {stage: consume}}
)";

// A file inside a tree artifact: the weights of a model folder, read by evaluate.
constexpr const char* kTreeCase = R"(experiment: e2e_corrupt_tree
defaults: {device: cpu}
jobs:
  data:
    {kind: dataset, task: add_sub, max_operand: 20, size: 100, prefix: false, seed: 7,
     labels: {stage: produce}}
  base:
    {kind: train_base, data: data.ft, layers: 1, heads: 2, d_model: 16, max_positions: 32,
     steps: 2, batch_size: 4, labels: {stage: produce}}
  consumer: {kind: evaluate, model: base, data: data.circuit, retries: 0, labels: {stage: consume}}
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

class CorruptionE2e : public EngineClusterTest {
 protected:
  // Runs `yaml` until `producer` succeeded (only the producing worker is up), lets `damage`
  // flip a byte of a stored blob and return its sha, then starts a consumer worker with an
  // empty cache and checks that job `consumer` failed on it with DATA_LOSS and that nothing
  // used the damaged bytes.
  void Run(const char* yaml, const std::string& producer, const std::function<std::string(const std::string&)>& damage) {
    StartCluster({});
    StartWorkerWithLabels("producer", "stage=produce");
    std::string err;
    const std::string exp = cluster_->Submit(yaml, &err);
    ASSERT_NE(exp, "") << err;
    ASSERT_TRUE(WaitJobState(exp, producer, v1::SUCCEEDED, 60s)) << GetJobByName(exp, producer).error();
    // No worker takes `consume` jobs yet: the consumer waits.
    EXPECT_NE(GetJobByName(exp, "consumer").state(), v1::RUNNING);
    const std::string sha = damage(exp);
    ASSERT_EQ(sha.size(), 64u);

    const std::string consumer_dir = cluster_->dir() + "/work-consumer";
    ASSERT_FALSE(fs::exists(consumer_dir)) << "the consumer's cache must start empty";
    StartWorkerWithLabels("consumer", "stage=consume");

    v1::GetExperimentReply r = cluster_->WaitExperimentDone(exp, 90s);
    ASSERT_EQ(r.experiment().state(), v1::EXP_FAILED);
    v1::Job job = JobsByName(r)["consumer"];
    EXPECT_EQ(job.state(), v1::FAILED);
    EXPECT_EQ(job.attempt(), 1);
    // The failure says what happened and to which blob.
    EXPECT_NE(Lower(job.error()).find("data_loss"), std::string::npos) << job.error();
    EXPECT_NE(job.error().find(sha), std::string::npos) << job.error();
    auto attempts = store().Query("SELECT outcome, error FROM attempts WHERE job_id = ?1", {exp + "/consumer"});
    ASSERT_EQ(attempts.size(), 1u) << store().error();
    EXPECT_NE(attempts[0].at("error").find(sha), std::string::npos) << attempts[0].at("error");
    EXPECT_NE(cluster_->worker("consumer").ReadLog().find(sha), std::string::npos);

    // The damaged copy left the store's blob directory for corrupt/, so it is never served again.
    EXPECT_FALSE(fs::exists(BlobPath(artifacts_dir(), sha)));
    EXPECT_EQ(QuarantinedCopies(artifacts_dir(), sha).size(), 1u);
    // The consumer kept nothing of it and never ran on it: no cached blob, file or tree; the
    // resumable partial download holds no byte (the server checks the hash before it sends the
    // last chunk, and these blobs are one chunk); the job's result says DATA_LOSS.
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
    EXPECT_EQ(result.value("outputs", nlohmann::json::array()).size(), 0u) << results[0];
    exp_ = exp;
  }

  // After Run: re-submitting the DAG repairs the run. The producer's cached output lost a blob,
  // so it is a cache miss and runs again (uploading its output anew), and the consumer then
  // succeeds.
  void ExpectResubmissionRepairs(const char* yaml, const std::string& producer) {
    ASSERT_NE(exp_, "");
    const std::string exp = exp_;
    const std::string yaml_path = cluster_->dir() + "/resubmit.yaml";
    std::ofstream(yaml_path) << yaml;
    itest::CommandResult sub = cluster_->Fcctl({"submit", yaml_path, "--key", "again"});
    ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
    const std::string again = sub.out.substr(0, sub.out.find_last_not_of(" \n") + 1);
    ASSERT_NE(again, exp);
    v1::GetExperimentReply r2 = cluster_->WaitExperimentDone(again, 90s);
    std::map<std::string, v1::Job> jobs2 = JobsByName(r2);
    EXPECT_EQ(r2.experiment().state(), v1::EXP_SUCCEEDED) << jobs2["consumer"].error();
    EXPECT_EQ(jobs2[producer].state(), v1::SUCCEEDED);
    EXPECT_FALSE(jobs2[producer].cached());
    EXPECT_EQ(jobs2["consumer"].state(), v1::SUCCEEDED) << jobs2["consumer"].error();
    EXPECT_EQ(jobs2["data"].state(), v1::SUCCEEDED);
    EXPECT_EQ(jobs2["data"].cached(), producer != "data");  // intact upstream outputs are reused
  }

  std::string exp_;  // Run's experiment
};

TEST_F(CorruptionE2e, AFlippedByteInAStoredFileFailsTheConsumerWithDataLossAndIsQuarantined) {
  Run(kFileCase, "data", [&](const std::string& exp) {
    const std::string uri = OutputUri(exp, "data", "ft");
    const std::string sha = BlobSha(uri);
    EXPECT_EQ(sha.size(), 64u) << "data.ft was not stored as a blob: " << uri;
    EXPECT_EQ(FlipStoredByte(artifacts_dir(), sha, 10), "");
    return sha;
  });
  EXPECT_EQ(PathsNaming(cluster_->dir() + "/work-consumer", "ft.jsonl"), std::vector<std::string>{});
  ExpectResubmissionRepairs(kFileCase, "data");
}

TEST_F(CorruptionE2e, AFlippedByteInAStoredModelFileFailsTheConsumerWithDataLossAndIsQuarantined) {
  Run(kTreeCase, "base", [&](const std::string& exp) {
    const std::string uri = OutputUri(exp, "base", "model");
    std::string err;
    const std::string sha = TreeFileSha(artifacts_dir(), uri, "model.safetensors", &err);
    EXPECT_EQ(sha.size(), 64u) << err;
    EXPECT_EQ(FlipStoredByte(artifacts_dir(), sha, 100), "");
    return sha;
  });
  EXPECT_EQ(PathsNaming(cluster_->dir() + "/work-consumer", "model.safetensors"), std::vector<std::string>{});
  ExpectResubmissionRepairs(kTreeCase, "base");
}

}  // namespace
}  // namespace fc::e2e
