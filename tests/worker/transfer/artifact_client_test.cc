// ArtifactClient against a real ArtifactService on loopback gRPC (and the shared-FS mode on the
// same directory layout), with real files: round trips, dedupe, resume in both directions,
// corruption on the store and in the cache, hostile manifests, limits.
#include "worker/transfer/artifact_client.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "coordinator/artifacts/artifact_service.h"
#include "coordinator/artifacts/sha256_hasher.h"
#include "fc/v1/workers.grpc.pb.h"
#include "tests/coordinator/artifacts/test_files.h"
#include "worker/transfer/artifact_uri.h"
#include "worker/transfer/job_artifacts.h"

namespace fc::transfer {
namespace {

namespace fs = std::filesystem;
namespace pb = ::fc::v1;
using artifacts::Sha256Hex;
using artifacts::testing::FlipByte;
using artifacts::testing::RandomBytes;
using artifacts::testing::ReadFile;
using artifacts::testing::TempDir;
using artifacts::testing::WriteFile;

constexpr int64_t kChunk = 64 << 10;

class ArtifactClientTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer({}, /*with_service=*/true); }
  void TearDown() override { StopServer(); }

  void StartServer(artifacts::BlobStoreOptions o, bool with_service) {
    auto s = artifacts::BlobStore::Open(dir_.file("store"), o);
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    service_ = std::make_unique<artifacts::ArtifactService>(store_.get());
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    if (with_service) {
      b.RegisterService(service_.get());
    } else {
      b.RegisterService(&workers_only_);  // a coordinator that serves no artifact store
    }
    server_ = b.BuildAndStart();
    ASSERT_TRUE(server_);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials());
  }
  void StopServer() {
    if (!server_) return;
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    server_.reset();
    service_.reset();
  }
  ArtifactClientOptions Options(const std::string& cache) {
    ArtifactClientOptions o;
    o.cache_dir = dir_.file(cache);
    o.retry_initial_ms = 5;
    o.retry_max_ms = 20;
    o.grpc.chunk_bytes = kChunk;
    o.grpc.base_timeout_ms = 10000;
    return o;
  }
  std::unique_ptr<ArtifactClient> Client(const std::string& cache = "cache") {
    auto c = ArtifactClient::ForChannel(channel_, Options(cache));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }
  // A model-like folder: nested files, an empty file, one larger binary.
  void MakeTree(const std::string& root) {
    WriteFile(root + "/config.json", R"({"n_layers":2})");
    WriteFile(root + "/model.safetensors", RandomBytes(300000, 1));
    WriteFile(root + "/tokenizer/tokenizer.json", "{}");
    WriteFile(root + "/empty.txt", "");
  }

  TempDir dir_;
  std::unique_ptr<artifacts::BlobStore> store_;
  std::unique_ptr<artifacts::ArtifactService> service_;
  pb::WorkerService::Service workers_only_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  int port_ = 0;
};

TEST_F(ArtifactClientTest, AFileRoundTripsAndKeepsItsNameOnAnotherWorker) {
  const std::string data = RandomBytes(200000, 2);
  WriteFile(dir_.file("out/rows.jsonl"), data);
  auto up = Client("cache-a")->Upload(dir_.file("out/rows.jsonl"), "dataset");
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->sha256, Sha256Hex(data));
  EXPECT_EQ(up->size, 200000);
  EXPECT_FALSE(up->is_tree);
  EXPECT_EQ(up->bytes_sent, 200000);
  EXPECT_EQ(ReadFile(store_->BlobPath(up->sha256)), data);

  auto other = Client("cache-b");
  auto path = other->Materialize(FormatBlobUri(up->sha256, "rows.jsonl"));
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(fs::path(*path).filename(), "rows.jsonl");
  EXPECT_EQ(fs::path(*path).parent_path().parent_path().parent_path(), fs::path(dir_.file("cache-b")));
  EXPECT_EQ(ReadFile(*path), data);
  EXPECT_EQ(other->bytes_received(), 200000);
  // Reused from the cache the second time.
  auto again = other->Materialize(FormatBlobUri(up->sha256, "rows.jsonl"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *path);
  EXPECT_EQ(other->bytes_received(), 200000);
}

TEST_F(ArtifactClientTest, ATreeRoundTripsFileForFile) {
  MakeTree(dir_.file("out/model"));
  auto up = Client("cache-a")->Upload(dir_.file("out/model"), "model");
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_TRUE(up->is_tree);
  EXPECT_EQ(up->files, 4);
  EXPECT_EQ(up->size, 300000 + 14 + 2 + 0);
  auto manifest = ParseManifest(ReadFile(store_->BlobPath(up->sha256)), "stored");
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  EXPECT_EQ(manifest->files.size(), 4u);

  auto other = Client("cache-b");
  auto path = other->Materialize(FormatBlobUri(up->sha256));
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  auto files = ListTreeFiles(*path);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 4u);
  for (const TreeFile& f : *files) {
    EXPECT_EQ(ReadFile(f.abs), ReadFile(dir_.file("out/model/" + f.rel))) << f.rel;
  }
}

TEST_F(ArtifactClientTest, IdenticalFilesAreSentOnceAndACheckpointSendsOnlyWhatChanged) {
  auto client = Client();
  MakeTree(dir_.file("ckpt-1"));
  auto first = client->Upload(dir_.file("ckpt-1"), "checkpoint");
  ASSERT_TRUE(first.ok());
  const int64_t sent = client->bytes_sent();
  auto same = client->Upload(dir_.file("ckpt-1"), "checkpoint");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->sha256, first->sha256);
  EXPECT_EQ(same->bytes_sent, 0);
  EXPECT_EQ(client->bytes_sent(), sent);

  fs::copy(dir_.file("ckpt-1"), dir_.file("ckpt-2"), fs::copy_options::recursive);
  const std::string adapter = RandomBytes(5000, 3);
  WriteFile(dir_.file("ckpt-2/adapter_model.safetensors"), adapter);
  auto second = client->Upload(dir_.file("ckpt-2"), "checkpoint");
  ASSERT_TRUE(second.ok());
  EXPECT_NE(second->sha256, first->sha256);
  const int64_t manifest_bytes = static_cast<int64_t>(fs::file_size(store_->BlobPath(second->sha256)));
  EXPECT_EQ(second->bytes_sent, 5000 + manifest_bytes);
}

TEST_F(ArtifactClientTest, AnUploadInterruptedAfterKChunksResumesFromThePartialOffset) {
  const std::string data = RandomBytes(10 * kChunk + 123, 4);
  const std::string sha = Sha256Hex(data);
  WriteFile(dir_.file("big.bin"), data);
  {  // Another attempt sent 3 chunks, then stopped.
    auto stub = pb::ArtifactService::NewStub(channel_);
    grpc::ClientContext ctx;
    pb::PutBlobReply reply;
    auto w = stub->PutBlob(&ctx, &reply);
    pb::PutBlobRequest m;
    m.set_sha256(sha);
    m.set_total_size(static_cast<int64_t>(data.size()));
    for (int i = 0; i < 3; ++i) {
      m.set_data(data.substr(i * kChunk, kChunk));
      ASSERT_TRUE(w->Write(m));
    }
    w->WritesDone();
    EXPECT_EQ(w->Finish().error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  }
  auto client = Client();
  auto up = client->Upload(dir_.file("big.bin"), "file");
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->bytes_sent, static_cast<int64_t>(data.size()) - 3 * kChunk);
  EXPECT_EQ(ReadFile(store_->BlobPath(sha)), data);
}

TEST_F(ArtifactClientTest, AnUploadWaitsForAnotherWorkersUploadOfTheSameBlob) {
  const std::string data = RandomBytes(4 * kChunk, 21);
  const std::string sha = Sha256Hex(data);
  WriteFile(dir_.file("same.bin"), data);
  auto stub = pb::ArtifactService::NewStub(channel_);
  grpc::ClientContext ctx;
  pb::PutBlobReply reply;
  auto w = stub->PutBlob(&ctx, &reply);
  pb::PutBlobRequest m;
  m.set_sha256(sha);
  m.set_total_size(static_cast<int64_t>(data.size()));
  m.set_data(data.substr(0, kChunk));
  ASSERT_TRUE(w->Write(m));  // the other worker holds the upload...
  StatusOr<UploadResult> up = InternalError("not run");
  auto client = Client();
  std::thread t([&] { up = client->Upload(dir_.file("same.bin"), "file"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // longer than 4 plain retries here
  m.clear_sha256();
  m.set_data(data.substr(kChunk));
  ASSERT_TRUE(w->Write(m));  // ...and finishes it
  w->WritesDone();
  ASSERT_TRUE(w->Finish().ok());
  t.join();
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->bytes_sent, 0);
  EXPECT_EQ(ReadFile(store_->BlobPath(sha)), data);
}

TEST_F(ArtifactClientTest, AnInterruptedDownloadResumesFromTheCachesPartialFile) {
  const std::string data = RandomBytes(5 * kChunk, 5);
  WriteFile(dir_.file("x.bin"), data);
  auto info = store_->PutFile(dir_.file("x.bin"));
  ASSERT_TRUE(info.ok());
  auto client = Client();
  // An earlier download got 100000 bytes before the worker died.
  WriteFile(client->cache().blobs().PartialPath(info->sha256), data.substr(0, 100000));
  ASSERT_TRUE(client->FetchBlob(info->sha256).ok());
  EXPECT_EQ(client->bytes_received(), static_cast<int64_t>(data.size()) - 100000);
  EXPECT_EQ(ReadFile(client->cache().blobs().BlobPath(info->sha256)), data);
}

TEST_F(ArtifactClientTest, ACancelledDownloadStopsAndTheNextAttemptResumesIt) {
  const int64_t kServerChunk = 1 << 20;  // GetBlob streams 1 MiB chunks
  const std::string data = RandomBytes(4 * kServerChunk + 5, 22);
  WriteFile(dir_.file("c.bin"), data);
  auto info = store_->PutFile(dir_.file("c.bin"));
  ASSERT_TRUE(info.ok());
  auto client = Client();
  // Cancelled once two chunks have arrived (polled between chunks).
  auto cancel = [&] { return client->bytes_received() >= 2 * kServerChunk; };
  Status s = client->FetchBlob(info->sha256, cancel);
  EXPECT_EQ(s.code(), StatusCode::kCancelled) << s.ToString();
  EXPECT_FALSE(client->cache().blobs().Has(info->sha256));
  const int64_t kept = client->cache().blobs().Stat(info->sha256)->partial_bytes;
  EXPECT_EQ(kept, 2 * kServerChunk);
  EXPECT_LT(kept, static_cast<int64_t>(data.size()));
  const int64_t before = client->bytes_received();
  ASSERT_TRUE(client->FetchBlob(info->sha256).ok());
  EXPECT_EQ(client->bytes_received() - before, static_cast<int64_t>(data.size()) - kept);
  EXPECT_EQ(ReadFile(client->cache().blobs().BlobPath(info->sha256)), data);
}

TEST_F(ArtifactClientTest, ACorruptPartialDownloadIsDetectedAndRestartedFromZero) {
  const std::string data = RandomBytes(3 * kChunk, 6);
  WriteFile(dir_.file("x.bin"), data);
  auto info = store_->PutFile(dir_.file("x.bin"));
  ASSERT_TRUE(info.ok());
  auto client = Client();
  std::string bad = data.substr(0, 50000);
  bad[7] ^= 1;
  WriteFile(client->cache().blobs().PartialPath(info->sha256), bad);
  ASSERT_TRUE(client->FetchBlob(info->sha256).ok());
  // The resumed attempt's hash check failed; the retry fetched everything.
  EXPECT_EQ(client->bytes_received(), (static_cast<int64_t>(data.size()) - 50000) + static_cast<int64_t>(data.size()));
  EXPECT_EQ(ReadFile(client->cache().blobs().BlobPath(info->sha256)), data);
}

TEST_F(ArtifactClientTest, ACorruptBlobInTheStoreIsDataLossAndNothingEntersTheCache) {
  const std::string data = RandomBytes(2 * kChunk + 7, 7);
  WriteFile(dir_.file("x.bin"), data);
  auto info = store_->PutFile(dir_.file("x.bin"));
  ASSERT_TRUE(info.ok());
  FlipByte(store_->BlobPath(info->sha256), 3);
  auto client = Client();
  auto path = client->MaterializeFile(info->sha256, "x.bin");
  EXPECT_EQ(path.status().code(), StatusCode::kDataLoss) << path.status().ToString();
  EXPECT_FALSE(client->cache().blobs().Has(info->sha256));
  EXPECT_FALSE(fs::exists(client->cache().FilePath(info->sha256, "x.bin")));
  EXPECT_FALSE(store_->Has(info->sha256));  // quarantined by the server
}

TEST_F(ArtifactClientTest, ACorruptedCacheEntryIsDetectedAndDownloadedAgain) {
  const std::string data = RandomBytes(150000, 8);
  WriteFile(dir_.file("w.bin"), data);
  auto info = store_->PutFile(dir_.file("w.bin"));
  ASSERT_TRUE(info.ok());
  auto client = Client();
  auto path = client->MaterializeFile(info->sha256, "w.bin");
  ASSERT_TRUE(path.ok());
  FlipByte(*path, 100);  // e.g. a job wrote into its input
  auto again = client->MaterializeFile(info->sha256, "w.bin");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ReadFile(*again), data);
  EXPECT_EQ(client->bytes_received(), 2 * 150000);
}

TEST_F(ArtifactClientTest, ACorruptedFileInACachedTreeIsDetectedAndTheTreeRebuilt) {
  MakeTree(dir_.file("out/model"));
  auto up = Client("cache-a")->Upload(dir_.file("out/model"), "model");
  ASSERT_TRUE(up.ok());
  auto client = Client("cache-b");
  auto path = client->MaterializeTree(up->sha256);
  ASSERT_TRUE(path.ok());
  FlipByte(*path + "/model.safetensors", 1234);
  WriteFile(*path + "/stray.txt", "left behind by a job");
  auto again = client->MaterializeTree(up->sha256);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ReadFile(*again + "/model.safetensors"), ReadFile(dir_.file("out/model/model.safetensors")));
  EXPECT_FALSE(fs::exists(*again + "/stray.txt"));
}

TEST_F(ArtifactClientTest, AManifestWithPathTraversalIsRejectedAndWritesNothingOutsideTheCache) {
  auto client = Client();
  WriteFile(dir_.file("payload"), "owned");
  auto payload = store_->PutFile(dir_.file("payload"));
  ASSERT_TRUE(payload.ok());
  const std::string evil = fmt::format(
      R"({{"files":[{{"path":"../../../escaped","sha256":"{}","size":5}}],"type":"tree"}})", payload->sha256);
  WriteFile(dir_.file("evil.json"), evil);
  auto m = store_->PutFile(dir_.file("evil.json"));
  ASSERT_TRUE(m.ok());
  auto path = client->MaterializeTree(m->sha256);
  EXPECT_EQ(path.status().code(), StatusCode::kInvalidArgument) << path.status().ToString();
  EXPECT_NE(path.status().message().find("'..'"), std::string::npos) << path.status().message();
  EXPECT_FALSE(fs::exists(dir_.file("escaped")));
  EXPECT_FALSE(fs::exists(fs::path(dir_.path()).parent_path() / "escaped"));
  EXPECT_FALSE(fs::exists(client->cache().TreePath(m->sha256)));
}

TEST_F(ArtifactClientTest, BlobsOverTheStoreLimitFailWithoutRetriesAsResourceExhausted) {
  StopServer();
  artifacts::BlobStoreOptions o;
  o.max_blob_bytes = 1000;
  StartServer(o, true);
  WriteFile(dir_.file("big"), RandomBytes(1001, 9));
  auto up = Client()->Upload(dir_.file("big"), "file");
  EXPECT_EQ(up.status().code(), StatusCode::kResourceExhausted) << up.status().ToString();
}

TEST_F(ArtifactClientTest, AnUnreachableStoreFailsAsUnavailableAfterItsRetries) {
  StopServer();
  WriteFile(dir_.file("f"), "x");
  auto opts = Options("cache");
  opts.grpc.base_timeout_ms = 300;
  opts.max_attempts = 2;
  auto client = ArtifactClient::ForChannel(channel_, opts);
  ASSERT_TRUE(client.ok());
  auto up = (*client)->Upload(dir_.file("f"), "file");
  EXPECT_TRUE(up.status().code() == StatusCode::kUnavailable || up.status().code() == StatusCode::kDeadlineExceeded)
      << up.status().ToString();
}

TEST_F(ArtifactClientTest, WithoutAnArtifactServiceOutputsAreReportedAsPlainPaths) {
  StopServer();
  StartServer({}, /*with_service=*/false);
  WriteFile(dir_.file("job/out/model/w.bin"), "w");
  std::vector<agent::ArtifactRef> outs = {{"model", "", 0, "model", dir_.file("job/out/model")}};
  auto client = Client();
  EXPECT_EQ(client->Upload(dir_.file("job/out/model"), "model").status().code(), StatusCode::kUnimplemented);
  auto reported = UploadOutputs(*client, outs, dir_.file("job/out"), {});
  ASSERT_TRUE(reported.ok()) << reported.status().ToString();
  EXPECT_EQ((*reported)[0].uri, dir_.file("job/out/model"));
  EXPECT_EQ((*reported)[0].sha256, "");
}

TEST_F(ArtifactClientTest, UploadOutputsTouchesOnlyPathsInsideTheOutputDir) {
  WriteFile(dir_.file("job/out/model/w.bin"), "weights");
  WriteFile(dir_.file("job/out/rows.jsonl"), "{}\n");
  WriteFile(dir_.file("elsewhere/x"), "x");
  std::vector<agent::ArtifactRef> outs = {{"model", "", 0, "model", dir_.file("job/out/model")},
                                          {"rows", "", 0, "dataset", "rows.jsonl"},  // relative to out
                                          {"ext", "", 0, "file", dir_.file("elsewhere/x")},
                                          {"sneaky", "", 0, "file", dir_.file("job/out/../../elsewhere/x")},
                                          {"last", "", 0, "model", dir_.file("job/out/model")}};  // an alias
  auto client = Client();
  auto reported = UploadOutputs(*client, outs, dir_.file("job/out"), {});
  ASSERT_TRUE(reported.ok()) << reported.status().ToString();
  EXPECT_TRUE(IsBlobUri((*reported)[0].uri));
  EXPECT_EQ((*reported)[0].size, 7);
  EXPECT_EQ((*reported)[1].uri, FormatBlobUri(Sha256Hex("{}\n"), "rows.jsonl"));
  EXPECT_EQ((*reported)[1].sha256, Sha256Hex("{}\n"));
  EXPECT_EQ((*reported)[2].uri, dir_.file("elsewhere/x"));
  EXPECT_EQ((*reported)[3].uri, outs[3].uri);
  EXPECT_EQ((*reported)[4].uri, (*reported)[0].uri);
  EXPECT_EQ((*reported)[4].sha256, (*reported)[0].sha256);

  // And a downstream job gets local paths for the blob uris, plain paths untouched.
  std::map<std::string, agent::DependencyOutput> inputs;
  inputs["up"].outputs = *reported;
  auto fresh = Client("cache-downstream");
  ASSERT_TRUE(MaterializeInputs(*fresh, &inputs, {}).ok());
  EXPECT_EQ(ReadFile(inputs["up"].outputs[0].uri + "/w.bin"), "weights");
  EXPECT_EQ(ReadFile(inputs["up"].outputs[1].uri), "{}\n");
  EXPECT_EQ(fs::path(inputs["up"].outputs[1].uri).filename(), "rows.jsonl");
  EXPECT_EQ(inputs["up"].outputs[2].uri, dir_.file("elsewhere/x"));
}

TEST_F(ArtifactClientTest, SharedDirectoryModeUsesTheSameLayoutAsTheService) {
  MakeTree(dir_.file("out/model"));
  // Worker A writes straight into the store directory (e.g. an NFS mount of it)...
  auto shared = ArtifactClient::ForSharedDir(dir_.file("store"), Options("cache-a"));
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  auto up = (*shared)->Upload(dir_.file("out/model"), "model");
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_TRUE(store_->Has(up->sha256));
  // ...worker B, without the mount, downloads it over gRPC...
  auto path = Client("cache-b")->MaterializeTree(up->sha256);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(ReadFile(*path + "/config.json"), R"({"n_layers":2})");
  // ...and worker C with the mount reads it from there, verified.
  auto c = ArtifactClient::ForSharedDir(dir_.file("store"), Options("cache-c"));
  ASSERT_TRUE(c.ok());
  auto pc = (*c)->MaterializeTree(up->sha256);
  ASSERT_TRUE(pc.ok()) << pc.status().ToString();
  EXPECT_EQ(ReadFile(*pc + "/model.safetensors"), ReadFile(dir_.file("out/model/model.safetensors")));
  // A corrupt blob in the shared directory is caught by the reader too.
  auto manifest = ParseManifest(ReadFile(store_->BlobPath(up->sha256)), "m");
  ASSERT_TRUE(manifest.ok());
  const std::string weights_sha = manifest->files[2].sha256;  // model.safetensors
  FlipByte(store_->BlobPath(weights_sha), 0);
  auto d = ArtifactClient::ForSharedDir(dir_.file("store"), Options("cache-d"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)->MaterializeTree(up->sha256).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace fc::transfer

namespace fc::transfer {
namespace {

// Throughput over loopback (not part of the suite: run with --gtest_also_run_disabled_tests).
TEST_F(ArtifactClientTest, DISABLED_ThroughputOfA256MiBUploadAndDownload) {
  const int64_t n = int64_t{256} << 20;
  WriteFile(dir_.file("big.bin"), RandomBytes(static_cast<size_t>(n), 99));
  auto o = Options("cache-a");
  o.grpc.chunk_bytes = 1 << 20;
  auto a = ArtifactClient::ForChannel(channel_, o);
  ASSERT_TRUE(a.ok());
  auto t0 = std::chrono::steady_clock::now();
  auto h = artifacts::Sha256File(dir_.file("big.bin"));
  auto t1 = std::chrono::steady_clock::now();
  auto up = (*a)->Upload(dir_.file("big.bin"), "file");
  auto t2 = std::chrono::steady_clock::now();
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  o.cache_dir = dir_.file("cache-b");
  auto b = ArtifactClient::ForChannel(channel_, o);
  ASSERT_TRUE(b.ok());
  auto path = (*b)->MaterializeFile(up->sha256, "big.bin");
  auto t3 = std::chrono::steady_clock::now();
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*h, up->sha256);
  auto mibs = [&](auto d) { return 256.0 / std::chrono::duration<double>(d).count(); };
  std::printf("sha256 %.0f MiB/s, upload (hash + send + server hash/fsync) %.0f MiB/s, download (+ verify) %.0f MiB/s\n",
              mibs(t1 - t0), mibs(t2 - t1), mibs(t3 - t2));
}

}  // namespace
}  // namespace fc::transfer
