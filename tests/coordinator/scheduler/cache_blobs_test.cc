// Job caching against the coordinator's artifact store: an in-process coordinator with its own
// store (--artifacts) and one scripted worker that stores outputs the way the agent uploads
// them (a file as one blob, `blob:<sha>/<name>`; a folder as a tree, `blob:<manifest sha>`).
// Resubmitting the same DAG reuses the outputs while their blobs are stored; once a blob of an
// output was quarantined (moved to corrupt/, as a failed re-hash does) or its manifest is gone,
// the producing job is a cache miss and runs again, so resubmitting repairs the run instead of
// handing its consumers an output that can never be read.
#include <filesystem>
#include <fstream>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "coordinator/artifacts/blob_store.h"
#include "coordinator/server.h"
#include "fc/v1/experiments.grpc.pb.h"
#include "tests/coordinator/artifacts/store_tree.h"
#include "tests/coordinator/coordinator_fixture.h"
#include "tests/coordinator/test_util.h"
#include "worker/transfer/artifact_uri.h"

namespace fc::coord {
namespace {

namespace pb = fc::v1;
using fc::coord::testing::Ctx;

constexpr const char* kSpec = R"(experiment: cache
jobs:
  data: {kind: dataset, task: add_sub}
  base: {kind: model, path: /models/base}
  before: {kind: discover, model: base, data: data.circuit, top: 10%}
)";

class CacheBlobs : public testing::CoordinatorFixture {
 protected:
  void Tune(Config* c) override {
    c->lease_ttl_ms = 5000;
    c->heartbeat_ms = 500;
  }
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CoordinatorFixture::SetUp());
    ASSERT_TRUE(worker_->Register("w"));
  }
  std::string Submit(const std::string& key) {
    pb::SubmitExperimentRequest req;
    req.set_spec(kSpec);
    req.set_idempotency_key(key);
    pb::SubmitExperimentReply reply;
    grpc::Status s = exp_->SubmitExperiment(Ctx().get(), req, &reply);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return reply.experiment().id();
  }
  pb::Job Job(const std::string& exp, const std::string& name) {
    pb::GetJobRequest req;
    req.set_id(exp + "/" + name);
    pb::GetJobReply reply;
    grpc::Status s = exp_->GetJob(Ctx().get(), req, &reply);
    EXPECT_TRUE(s.ok()) << name << ": " << s.error_message();
    return reply.job();
  }
  // Leases jobs until `exp`'s `name` is among them (within 8 s).
  pb::LeasedJob Take(const std::string& exp, const std::string& name) { return worker_->Take(exp + "/" + name); }
  void Complete(const pb::LeasedJob& l, const testing::Outputs& outs) { worker_->Complete(l, outs); }
  // Stores a file as one blob: blob:<sha>/<name>.
  std::string StoreFile(const std::string& name, const std::string& text) {
    const std::string path = dir_.file("files/" + name);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    auto b = blobs_->PutFile(path);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return transfer::FormatBlobUri(b->sha256, name);
  }
  // Stores a folder of two files as a tree.
  artifacts::testing::StoredTree StoreFolder(const std::string& name) {
    const std::string folder = dir_.file("folders/" + name);
    std::filesystem::create_directories(folder + "/sub");
    std::ofstream(folder + "/a.txt") << name << " a";
    std::ofstream(folder + "/sub/b.txt") << name << " b";
    auto t = artifacts::testing::StoreTree(*blobs_, folder);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return *t;
  }
  // Runs the first experiment by hand: data = a file blob + a tree, base = a tree.
  void RunFirst() {
    first_ = Submit("first");
    ft_uri_ = StoreFile("ft.jsonl", "{\"ft\": 1}\n");
    circuit_ = StoreFolder("circuit");
    model_ = StoreFolder("model");
    Complete(Take(first_, "data"), {{"ft", ft_uri_}, {"circuit", circuit_.uri}});
    Complete(Take(first_, "base"), {{"model", model_.uri}});
    Complete(Take(first_, "before"), {{"circuit", StoreFolder("before").uri}});
    ASSERT_EQ(Job(first_, "before").state(), pb::SUCCEEDED);
  }
  static std::string Sha(const std::string& uri) {
    auto b = transfer::ParseBlobUri(uri);
    EXPECT_TRUE(b.ok()) << uri;
    return b->sha256;
  }
  std::string MemberSha(const artifacts::testing::StoredTree& t, const std::string& path) {
    for (const auto& f : t.manifest.files) {
      if (f.path == path) return f.sha256;
    }
    ADD_FAILURE() << path << " not in " << t.uri;
    return "";
  }
  // Resubmits under `key`: `data` must run again (not cached) while `base` is still reused;
  // completing `data` with the same (re-uploaded) outputs then lets `before` hit the cache.
  void ExpectDataRunsAgain(const std::string& key) {
    const std::string e = Submit(key);
    pb::LeasedJob data = Take(e, "data");
    EXPECT_FALSE(Job(e, "data").cached());
    pb::Job base = Job(e, "base");
    EXPECT_EQ(base.state(), pb::SUCCEEDED);
    EXPECT_TRUE(base.cached());
    // The worker runs it and uploads its outputs again (same content, same addresses).
    ASSERT_EQ(StoreFile("ft.jsonl", "{\"ft\": 1}\n"), ft_uri_);
    ASSERT_EQ(StoreFolder("circuit").uri, circuit_.uri);
    Complete(data, {{"ft", ft_uri_}, {"circuit", circuit_.uri}});
    pb::Job before = Job(e, "before");
    EXPECT_EQ(before.state(), pb::SUCCEEDED);
    EXPECT_TRUE(before.cached());
  }

  std::string first_, ft_uri_;
  artifacts::testing::StoredTree circuit_, model_;
};

TEST_F(CacheBlobs, AResubmissionReusesOutputsWhoseBlobsAreStored) {
  RunFirst();
  const std::string e = Submit("again");
  for (const char* name : {"data", "base", "before"}) {
    pb::Job j = Job(e, name);
    EXPECT_EQ(j.state(), pb::SUCCEEDED) << name;
    EXPECT_TRUE(j.cached()) << name;
    EXPECT_EQ(j.outputs_size(), Job(first_, name).outputs_size()) << name;
  }
}

TEST_F(CacheBlobs, AQuarantinedTreeMemberBlobMakesTheProducerRunAgain) {
  RunFirst();
  blobs_->Quarantine(MemberSha(circuit_, "sub/b.txt"), "test: corrupt");
  ASSERT_TRUE(std::filesystem::exists(dir_.file("artifacts/corrupt")));
  ExpectDataRunsAgain("again");
}

TEST_F(CacheBlobs, AQuarantinedFileBlobMakesTheProducerRunAgain) {
  RunFirst();
  blobs_->Quarantine(Sha(ft_uri_), "test: corrupt");
  ExpectDataRunsAgain("again");
}

TEST_F(CacheBlobs, AMissingTreeManifestMakesTheProducerRunAgain) {
  RunFirst();
  // A first resubmission reads (and remembers) the tree's members; the manifest disappearing
  // afterwards is still noticed.
  const std::string again = Submit("again");
  ASSERT_TRUE(Job(again, "data").cached());
  ASSERT_TRUE(blobs_->Remove(circuit_.manifest_sha).ok());
  ExpectDataRunsAgain("third");
}

}  // namespace
}  // namespace fc::coord
