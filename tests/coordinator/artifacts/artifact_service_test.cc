// fc.v1.ArtifactService on a real gRPC server over loopback, driven through the raw stub so the
// wire protocol itself (chunking, resume offsets, limits, DATA_LOSS) is what is tested.
#include "coordinator/artifacts/artifact_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "coordinator/artifacts/sha256_hasher.h"
#include "tests/coordinator/artifacts/test_files.h"

namespace fc::artifacts {
namespace {

namespace pb = ::fc::v1;
using testing::FlipByte;
using testing::RandomBytes;
using testing::TempDir;

class ArtifactServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }
  void Start(BlobStoreOptions o) {
    auto s = BlobStore::Open(dir_.file("store"), o);
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    ArtifactServiceOptions so;
    so.metrics = &metrics_;
    service_ = std::make_unique<ArtifactService>(store_.get(), so);
    grpc::ServerBuilder b;
    int port = 0;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(service_.get());
    server_ = b.BuildAndStart();
    ASSERT_TRUE(server_);
    stub_ = pb::ArtifactService::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    server_.reset();
    service_.reset();
  }
  static void Deadline(grpc::ClientContext* ctx) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  }

  // Sends data[offset, offset + limit) in chunks of `chunk` (header in the first message), then
  // half-closes. Returns the call's status.
  grpc::Status Put(const std::string& data, int64_t offset, size_t chunk, pb::PutBlobReply* reply,
                   int64_t limit = -1, const std::string& sha = "") {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    auto w = stub_->PutBlob(&ctx, reply);
    pb::PutBlobRequest m;
    m.set_sha256(sha.empty() ? Sha256Hex(data) : sha);
    m.set_total_size(static_cast<int64_t>(data.size()));
    m.set_offset(offset);
    m.set_kind("file");
    size_t end = limit < 0 ? data.size() : static_cast<size_t>(offset + limit);
    size_t pos = static_cast<size_t>(offset);
    do {
      size_t n = std::min(chunk, end - pos);
      m.set_data(data.substr(pos, n));
      pos += n;
      if (!w->Write(m)) break;
      m.clear_sha256();
    } while (pos < end);
    w->WritesDone();
    return w->Finish();
  }
  StatusOr<std::string> Get(const std::string& sha, int64_t offset, std::string* got, int* chunks = nullptr) {
    pb::GetBlobRequest req;
    req.set_sha256(sha);
    req.set_offset(offset);
    grpc::ClientContext ctx;
    Deadline(&ctx);
    auto r = stub_->GetBlob(&ctx, req);
    pb::GetBlobChunk c;
    got->clear();
    while (r->Read(&c)) {
      EXPECT_EQ(c.offset(), offset + static_cast<int64_t>(got->size()));
      EXPECT_LE(c.data().size(), static_cast<size_t>(kMaxChunkBytes));
      *got += c.data();
      if (chunks) ++*chunks;
    }
    grpc::Status s = r->Finish();
    if (!s.ok()) return Status(static_cast<StatusCode>(s.error_code()), s.error_message());
    return *got;
  }
  pb::StatBlobReply Stat(const std::string& sha) {
    pb::StatBlobRequest req;
    req.set_sha256(sha);
    pb::StatBlobReply reply;
    grpc::ClientContext ctx;
    Deadline(&ctx);
    EXPECT_TRUE(stub_->StatBlob(&ctx, req, &reply).ok());
    return reply;
  }

  TempDir dir_;
  coord::metrics::Registry metrics_;
  std::unique_ptr<BlobStore> store_;
  std::unique_ptr<ArtifactService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<pb::ArtifactService::Stub> stub_;
};

TEST_F(ArtifactServiceTest, AMultiChunkBlobRoundTripsAndIsStatted) {
  const std::string data = RandomBytes((5 << 20) / 2, 10);  // 2.5 MiB: three 1 MiB chunks back
  pb::PutBlobReply reply;
  grpc::Status s = Put(data, 0, 256 << 10, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.sha256(), Sha256Hex(data));
  EXPECT_EQ(reply.bytes_received(), static_cast<int64_t>(data.size()));
  EXPECT_FALSE(reply.already_present());
  pb::StatBlobReply st = Stat(Sha256Hex(data));
  EXPECT_TRUE(st.exists());
  EXPECT_EQ(st.size(), static_cast<int64_t>(data.size()));
  std::string got;
  int chunks = 0;
  auto r = Get(Sha256Hex(data), 0, &got, &chunks);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(got, data);
  EXPECT_EQ(chunks, 3);
  // A resumed download asks for the tail only.
  r = Get(Sha256Hex(data), 1000000, &got);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(got, data.substr(1000000));
}

TEST_F(ArtifactServiceTest, UploadingAStoredBlobAgainIsAnsweredAlreadyPresent) {
  const std::string data = RandomBytes(3000, 11);
  pb::PutBlobReply reply;
  ASSERT_TRUE(Put(data, 0, 1000, &reply).ok());
  pb::PutBlobReply again;
  grpc::Status s = Put(data, 0, 1000, &again);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(again.already_present());
  EXPECT_EQ(again.bytes_received(), 0);
}

TEST_F(ArtifactServiceTest, AnUploadStoppedAfterKChunksResumesFromThePartialOffset) {
  const std::string data = RandomBytes(100000, 12);
  const std::string sha = Sha256Hex(data);
  pb::PutBlobReply reply;
  grpc::Status s = Put(data, 0, 10000, &reply, /*limit=*/30000);  // 3 chunks, then half-close
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  pb::StatBlobReply st = Stat(sha);
  EXPECT_FALSE(st.exists());
  EXPECT_EQ(st.partial_bytes(), 30000);
  pb::PutBlobReply resumed;
  s = Put(data, st.partial_bytes(), 10000, &resumed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resumed.bytes_received(), 70000);
  std::string got;
  ASSERT_TRUE(Get(sha, 0, &got).ok());
  EXPECT_EQ(got, data);
}

TEST_F(ArtifactServiceTest, AHardCancelledUploadKeepsAResumablePrefix) {
  const std::string data = RandomBytes(200000, 13);
  const std::string sha = Sha256Hex(data);
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    pb::PutBlobReply reply;
    auto w = stub_->PutBlob(&ctx, &reply);
    pb::PutBlobRequest m;
    m.set_sha256(sha);
    m.set_total_size(static_cast<int64_t>(data.size()));
    for (int i = 0; i < 5; ++i) {
      m.set_data(data.substr(i * 10000, 10000));
      ASSERT_TRUE(w->Write(m));
    }
    ctx.TryCancel();
    EXPECT_FALSE(w->Finish().ok());
  }
  // The server may not have read every chunk before the cancel: whatever it kept is a prefix
  // of whole chunks. Wait until its reactor let go of the upload (a probe at the kept offset
  // truncates nothing).
  pb::StatBlobReply st;
  for (int i = 0; i < 200; ++i) {
    st = Stat(sha);
    auto probe = store_->BeginUpload(sha, static_cast<int64_t>(data.size()), st.partial_bytes());
    if (probe.ok()) break;
    ASSERT_EQ(probe.status().code(), StatusCode::kAborted) << probe.status().ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  st = Stat(sha);
  EXPECT_FALSE(st.exists());
  EXPECT_LE(st.partial_bytes(), 50000);
  EXPECT_EQ(st.partial_bytes() % 10000, 0);
  pb::PutBlobReply resumed;
  grpc::Status s = Put(data, st.partial_bytes(), 64 << 10, &resumed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resumed.bytes_received(), static_cast<int64_t>(data.size()) - st.partial_bytes());
  std::string got;
  ASSERT_TRUE(Get(sha, 0, &got).ok());
  EXPECT_EQ(got, data);
}

TEST_F(ArtifactServiceTest, ContentNotMatchingTheAnnouncedHashIsDataLossAndNothingIsKept) {
  const std::string data = RandomBytes(5000, 14);
  pb::PutBlobReply reply;
  const std::string claimed = Sha256Hex("something else");
  grpc::Status s = Put(data, 0, 1000, &reply, -1, claimed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS) << s.error_message();
  pb::StatBlobReply st = Stat(claimed);
  EXPECT_FALSE(st.exists());
  EXPECT_EQ(st.partial_bytes(), 0);
}

TEST_F(ArtifactServiceTest, OversizedChunksBadHashesAndOverrunsAreRejected) {
  const std::string big = RandomBytes((1 << 20) + 1, 15);
  pb::PutBlobReply reply;
  EXPECT_EQ(Put(big, 0, big.size(), &reply).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Put("abc", 0, 3, &reply, -1, "not-a-hash").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Announce 3 bytes, send 4.
  grpc::ClientContext ctx;
  Deadline(&ctx);
  auto w = stub_->PutBlob(&ctx, &reply);
  pb::PutBlobRequest m;
  m.set_sha256(Sha256Hex("abc"));
  m.set_total_size(3);
  m.set_data("abcd");
  w->Write(m);
  w->WritesDone();
  EXPECT_EQ(w->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  std::string got;
  EXPECT_EQ(Get(Sha256Hex("absent"), 0, &got).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Get("../etc", 0, &got).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ArtifactServiceTest, BlobsOverTheStoreLimitAreResourceExhausted) {
  TearDown();
  BlobStoreOptions o;
  o.max_blob_bytes = 4096;
  Start(o);
  pb::PutBlobReply reply;
  EXPECT_EQ(Put(RandomBytes(4097, 16), 0, 4097, &reply).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(Put(RandomBytes(4096, 16), 0, 4096, &reply).ok());
}

TEST_F(ArtifactServiceTest, ACorruptBlobOnDiskEndsGetWithDataLossAndIsNeverServedAgain) {
  const std::string data = RandomBytes(3 << 20, 17);
  const std::string sha = Sha256Hex(data);
  pb::PutBlobReply reply;
  ASSERT_TRUE(Put(data, 0, 1 << 20, &reply).ok());
  FlipByte(store_->BlobPath(sha), 12345);
  std::string got;
  auto r = Get(sha, 0, &got);
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
  EXPECT_LT(got.size(), data.size());  // the last chunk is withheld
  EXPECT_NE(metrics_.Render().find("fc_artifact_data_loss_total 1"), std::string::npos) << metrics_.Render();
  EXPECT_FALSE(Stat(sha).exists());
  EXPECT_EQ(Get(sha, 0, &got).status().code(), StatusCode::kNotFound);
  // A fresh upload of the good content repairs it.
  ASSERT_TRUE(Put(data, 0, 1 << 20, &reply).ok());
  ASSERT_TRUE(Get(sha, 0, &got).ok());
  EXPECT_EQ(got, data);
}

TEST_F(ArtifactServiceTest, AnEmptyBlobRoundTrips) {
  pb::PutBlobReply reply;
  ASSERT_TRUE(Put("", 0, 1, &reply).ok());
  std::string got = "x";
  auto r = Get(Sha256Hex(""), 0, &got);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(got, "");
  EXPECT_TRUE(Stat(Sha256Hex("")).exists());
}

}  // namespace
}  // namespace fc::artifacts
