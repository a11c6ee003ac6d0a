// BlobStore: the on-disk layout, resumable verified uploads, verifying reads, quarantine.
#include "coordinator/artifacts/blob_store.h"

#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "coordinator/artifacts/sha256_hasher.h"
#include "tests/coordinator/artifacts/test_files.h"

namespace fc::artifacts {
namespace {

using testing::FlipByte;
using testing::RandomBytes;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

TEST(Sha256HasherTest, StreamingUpdatesMatchTheKnownDigestOfAbc) {
  Sha256Hasher h;
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(h.FinishHex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // After FinishHex the hasher starts over.
  h.Update("abc");
  EXPECT_EQ(h.FinishHex(), Sha256Hex("abc"));
}

TEST(Sha256HasherTest, AddressSyntaxIsExactly64LowercaseHexDigits) {
  EXPECT_TRUE(IsSha256Hex(Sha256Hex("x")));
  EXPECT_FALSE(IsSha256Hex(std::string(63, 'a')));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'A')));
  EXPECT_FALSE(IsSha256Hex("../" + std::string(61, 'a')));
  Status s = CheckSha256Hex("zz", "field 'sha256'");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("field 'sha256'"), std::string::npos) << s.message();
}

TEST(BlobStoreTest, PutFileStoresAReadOnlyBlobUnderItsHashAndDeduplicates) {
  TempDir dir;
  auto store = BlobStore::Open(dir.file("store"));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const std::string data = RandomBytes(300000, 1);
  WriteFile(dir.file("in.bin"), data);
  auto info = (*store)->PutFile(dir.file("in.bin"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->sha256, Sha256Hex(data));
  EXPECT_EQ(info->size, 300000);
  const std::string path = (*store)->BlobPath(info->sha256);
  EXPECT_EQ(path, dir.file("store") + "/blobs/" + info->sha256.substr(0, 2) + "/" + info->sha256);
  EXPECT_EQ(ReadFile(path), data);
  struct stat sb;
  ASSERT_EQ(::stat(path.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0444u);
  auto again = (*store)->PutFile(dir.file("in.bin"), info->sha256);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->sha256, info->sha256);
  EXPECT_TRUE(std::filesystem::is_empty(dir.file("store") + "/tmp"));
}

TEST(BlobStoreTest, PutFileWithTheWrongExpectedHashIsDataLossAndStoresNothing) {
  TempDir dir;
  auto store = BlobStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  WriteFile(dir.file("in.bin"), "hello");
  const std::string wrong = Sha256Hex("other");
  auto info = (*store)->PutFile(dir.file("in.bin"), wrong);
  EXPECT_EQ(info.status().code(), StatusCode::kDataLoss);
  EXPECT_FALSE((*store)->Has(wrong));
  EXPECT_FALSE((*store)->Has(Sha256Hex("hello")));
}

TEST(BlobStoreTest, AnInterruptedUploadKeepsItsPartialAndResumesFromAnOffset) {
  TempDir dir;
  auto store = BlobStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  const std::string data = RandomBytes(10000, 2);
  const std::string sha = Sha256Hex(data);
  {
    auto w = (*store)->BeginUpload(sha, 10000, 0);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE((*w)->Append(data.data(), 4000).ok());
    Status early = (*w)->Commit();
    EXPECT_EQ(early.code(), StatusCode::kFailedPrecondition) << early.ToString();
  }  // dropped without finishing: the partial stays
  auto st = (*store)->Stat(sha);
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->exists);
  EXPECT_EQ(st->partial_bytes, 4000);

  // An offset past the kept bytes cannot be resumed.
  EXPECT_EQ((*store)->BeginUpload(sha, 10000, 4001).status().code(), StatusCode::kFailedPrecondition);
  // Resuming at 3000 drops the 1000 bytes after it and re-hashes the 3000 before.
  auto w = (*store)->BeginUpload(sha, 10000, 3000);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ((*w)->written(), 3000);
  ASSERT_TRUE((*w)->Append(data.data() + 3000, 7000).ok());
  ASSERT_TRUE((*w)->Commit().ok());
  w->reset();
  EXPECT_EQ(ReadFile((*store)->BlobPath(sha)), data);
  st = (*store)->Stat(sha);
  EXPECT_TRUE(st->exists);
  EXPECT_EQ(st->size, 10000);
  EXPECT_EQ(st->partial_bytes, 0);
}

TEST(BlobStoreTest, CommitOfContentThatDoesNotMatchItsNameIsDataLossAndDropsThePartial) {
  TempDir dir;
  auto store = BlobStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  const std::string sha = Sha256Hex("expected");
  auto w = (*store)->BeginUpload(sha, 8, 0);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("expectex", 8).ok());
  Status s = (*w)->Commit();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
  w->reset();
  EXPECT_FALSE((*store)->Has(sha));
  EXPECT_EQ((*store)->Stat(sha)->partial_bytes, 0);
  EXPECT_FALSE(std::filesystem::exists((*store)->PartialPath(sha)));
}

TEST(BlobStoreTest, UploadsAreCheckedForSizeOffsetOverrunConcurrencyAndDuplicates) {
  TempDir dir;
  BlobStoreOptions o;
  o.max_blob_bytes = 1000;
  auto store = BlobStore::Open(dir.path(), o);
  ASSERT_TRUE(store.ok());
  const std::string sha = Sha256Hex("abc");
  EXPECT_EQ((*store)->BeginUpload(sha, 1001, 0).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ((*store)->BeginUpload(sha, -1, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*store)->BeginUpload(sha, 3, 4).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*store)->BeginUpload("../../etc/passwd", 3, 0).status().code(), StatusCode::kInvalidArgument);
  auto w = (*store)->BeginUpload(sha, 3, 0);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*store)->BeginUpload(sha, 3, 0).status().code(), StatusCode::kAborted);
  EXPECT_EQ((*w)->Append("abcd", 4).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE((*w)->Append("abc", 3).ok());
  ASSERT_TRUE((*w)->Commit().ok());
  w->reset();
  EXPECT_EQ((*store)->BeginUpload(sha, 3, 0).status().code(), StatusCode::kAlreadyExists);
}

TEST(BlobStoreTest, AFlippedByteIsDataLossBeforeTheLastChunkAndTheBlobIsQuarantined) {
  TempDir dir;
  auto store = BlobStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  const std::string data = RandomBytes(5000, 3);
  WriteFile(dir.file("in"), data);
  auto info = (*store)->PutFile(dir.file("in"));
  ASSERT_TRUE(info.ok());
  FlipByte((*store)->BlobPath(info->sha256), 10);

  auto r = (*store)->OpenReader(info->sha256, 0);
  ASSERT_TRUE(r.ok());
  std::string buf, got;
  Status s;
  while (!(*r)->done() && s.ok()) {
    s = (*r)->Next(1024, &buf);
    got += buf;
  }
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
  EXPECT_LT(got.size(), data.size());  // the final chunk was withheld
  EXPECT_FALSE((*store)->Has(info->sha256));
  int quarantined = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path() + "/corrupt")) {
    quarantined += e.path().filename().string().rfind(info->sha256, 0) == 0;
  }
  EXPECT_EQ(quarantined, 1);
}

TEST(BlobStoreTest, AReaderStartingPastTheCorruptionStillDetectsIt) {
  TempDir dir;
  auto store = BlobStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  WriteFile(dir.file("in"), RandomBytes(4096, 4));
  auto info = (*store)->PutFile(dir.file("in"));
  ASSERT_TRUE(info.ok());
  FlipByte((*store)->BlobPath(info->sha256), 5);
  auto r = (*store)->OpenReader(info->sha256, 4000);
  ASSERT_TRUE(r.ok());
  std::string buf;
  EXPECT_EQ((*r)->Next(1 << 20, &buf).code(), StatusCode::kDataLoss);
  EXPECT_TRUE(buf.empty());
  EXPECT_EQ((*store)->Verify(info->sha256).code(), StatusCode::kNotFound);  // quarantined
}

TEST(BlobStoreTest, VerifyAcceptsAGoodBlobAndOffsetsOutsideTheBlobAreOutOfRange) {
  TempDir dir;
  auto store = BlobStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  WriteFile(dir.file("in"), "content");
  auto info = (*store)->PutFile(dir.file("in"));
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE((*store)->Verify(info->sha256).ok());
  EXPECT_EQ((*store)->OpenReader(info->sha256, 8).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ((*store)->OpenReader(Sha256Hex("absent"), 0).status().code(), StatusCode::kNotFound);
}

TEST(BlobStoreTest, CacheModeDeletesCorruptBlobsInsteadOfQuarantining) {
  TempDir dir;
  BlobStoreOptions o;
  o.quarantine_corrupt = false;
  auto store = BlobStore::Open(dir.path(), o);
  ASSERT_TRUE(store.ok());
  WriteFile(dir.file("in"), RandomBytes(100, 5));
  auto info = (*store)->PutFile(dir.file("in"));
  ASSERT_TRUE(info.ok());
  FlipByte((*store)->BlobPath(info->sha256), 99);
  EXPECT_EQ((*store)->Verify(info->sha256).code(), StatusCode::kDataLoss);
  EXPECT_FALSE((*store)->Has(info->sha256));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path() + "/corrupt"));
}

}  // namespace
}  // namespace fc::artifacts
