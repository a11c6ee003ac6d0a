// fc-coordinator's Server serves the artifact store from --artifacts DIR on its gRPC port, and
// serves none without it (workers then report plain paths).
#include <gtest/gtest.h>

#include <filesystem>

#include "coordinator/artifacts/blob_store.h"
#include "coordinator/server.h"
#include "tests/coordinator/artifacts/test_files.h"
#include "worker/transfer/artifact_client.h"

namespace fc::artifacts {
namespace {

namespace fs = std::filesystem;
using testing::RandomBytes;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

std::unique_ptr<coord::Server> StartServer(const TempDir& dir, bool with_artifacts) {
  coord::Config c;
  c.db_path = dir.file("fc.db");
  if (with_artifacts) c.artifacts_dir = dir.file("artifacts");
  auto s = coord::Server::Start(c);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

TEST(ServerArtifactsTest, TheCoordinatorStoresAndServesBlobsUnderItsArtifactsDir) {
  TempDir dir;
  auto server = StartServer(dir, true);
  ASSERT_TRUE(server);
  auto channel = grpc::CreateChannel(server->grpc_address(), grpc::InsecureChannelCredentials());
  transfer::ArtifactClientOptions o;
  o.cache_dir = dir.file("cache-a");
  auto a = transfer::ArtifactClient::ForChannel(channel, o);
  ASSERT_TRUE(a.ok());
  WriteFile(dir.file("out/model/weights.bin"), RandomBytes(1500000, 1));
  WriteFile(dir.file("out/model/config.json"), "{}");
  auto up = (*a)->Upload(dir.file("out/model"), "model");
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  auto store = BlobStore::Open(dir.file("artifacts"));
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->Has(up->sha256));

  o.cache_dir = dir.file("cache-b");
  auto b = transfer::ArtifactClient::ForChannel(channel, o);
  ASSERT_TRUE(b.ok());
  auto path = (*b)->MaterializeTree(up->sha256);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(ReadFile(*path + "/weights.bin"), ReadFile(dir.file("out/model/weights.bin")));
  // Served on /metrics: every byte in once (three blobs), out once (b downloaded all three).
  const std::string metrics = server->metrics().Render();
  const int64_t total = 1500000 + 2 + static_cast<int64_t>(fs::file_size((*store)->BlobPath(up->sha256)));
  EXPECT_NE(metrics.find(fmt::format("fc_artifact_bytes_total{{direction=\"in\"}} {}", total)), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(fmt::format("fc_artifact_bytes_total{{direction=\"out\"}} {}", total)), std::string::npos);
  EXPECT_NE(metrics.find("fc_artifact_blobs_stored_total 3"), std::string::npos);
  server->Shutdown();
}

TEST(ServerArtifactsTest, WithoutArtifactsDirTheServiceIsUnimplemented) {
  TempDir dir;
  auto server = StartServer(dir, false);
  ASSERT_TRUE(server);
  transfer::ArtifactClientOptions o;
  o.cache_dir = dir.file("cache");
  auto a = transfer::ArtifactClient::ForChannel(
      grpc::CreateChannel(server->grpc_address(), grpc::InsecureChannelCredentials()), o);
  ASSERT_TRUE(a.ok());
  WriteFile(dir.file("f"), "x");
  EXPECT_EQ((*a)->Upload(dir.file("f"), "file").status().code(), StatusCode::kUnimplemented);
  server->Shutdown();
}

}  // namespace
}  // namespace fc::artifacts
