// artifacts::ReadOutputFile against a real BlobStore in a temp dir: plain files and folders,
// `blob:<sha>/<name>` files, `blob:<sha>` trees (circuit.json and circuit/circuit.json), and
// every failure: a corrupt member or manifest is DATA_LOSS naming the blob (and quarantined),
// a missing blob NOT_FOUND, a tree without the wanted member NOT_FOUND listing what was tried,
// a blob uri without a store FAILED_PRECONDITION, an oversized file RESOURCE_EXHAUSTED.
#include "coordinator/artifacts/artifact_reader.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/coordinator/artifacts/store_tree.h"
#include "tests/coordinator/artifacts/test_files.h"
#include "worker/transfer/artifact_uri.h"

namespace fc::artifacts {
namespace {

using testing::FlipByte;
using testing::RandomBytes;
using testing::StoreTree;
using testing::TempDir;
using testing::WriteFile;

const std::vector<std::string> kMembers = {"circuit.json", "circuit/circuit.json"};

class ArtifactReader : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = BlobStore::Open(dir_.file("store"));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  // A folder with circuit.json (`content`) and a sibling file, stored as a tree.
  testing::StoredTree Tree(const std::string& name, const std::string& member, const std::string& content) {
    const std::string folder = dir_.file(name);
    WriteFile(folder + "/" + member, content);
    WriteFile(folder + "/summary.json", "{\"edges\": 3}");
    auto t = StoreTree(*store_, folder);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : testing::StoredTree{};
  }
  std::string MemberSha(const testing::StoredTree& t, const std::string& path) {
    for (const auto& e : t.manifest.files) {
      if (e.path == path) return e.sha256;
    }
    ADD_FAILURE() << "no member " << path;
    return "";
  }

  TempDir dir_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(ArtifactReader, PlainFileAndFoldersStillWork) {
  WriteFile(dir_.file("a/circuit.json"), "top");
  WriteFile(dir_.file("b/circuit/circuit.json"), "nested");
  auto file = ReadOutputFile(store_.get(), dir_.file("a/circuit.json"), kMembers);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->bytes, "top");
  auto top = ReadOutputFile(nullptr, dir_.file("a"), kMembers);
  ASSERT_TRUE(top.ok()) << top.status().ToString();
  EXPECT_EQ(top->bytes, "top");
  EXPECT_EQ(top->source, dir_.file("a/circuit.json"));
  auto nested = ReadOutputFile(nullptr, dir_.file("b"), kMembers);
  ASSERT_TRUE(nested.ok()) << nested.status().ToString();
  EXPECT_EQ(nested->bytes, "nested");
}

TEST_F(ArtifactReader, MissingPathOrMemberIsNotFoundNamingIt) {
  auto gone = ReadOutputFile(store_.get(), "/nowhere/circuit", kMembers);
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_NE(gone.status().message().find("/nowhere/circuit"), std::string::npos);
  std::filesystem::create_directories(dir_.file("empty"));
  auto empty = ReadOutputFile(store_.get(), dir_.file("empty"), kMembers);
  EXPECT_EQ(empty.status().code(), StatusCode::kNotFound);
  EXPECT_NE(empty.status().message().find("circuit/circuit.json"), std::string::npos) << empty.status().ToString();
}

TEST_F(ArtifactReader, FileBlobUriReadsTheVerifiedBlob) {
  const std::string data = RandomBytes(3 << 20, 7);  // several reader chunks
  WriteFile(dir_.file("c.json"), data);
  auto b = store_->PutFile(dir_.file("c.json"));
  ASSERT_TRUE(b.ok());
  auto got = ReadOutputFile(store_.get(), transfer::FormatBlobUri(b->sha256, "circuit.json"), kMembers);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->bytes, data);
}

TEST_F(ArtifactReader, TreeBlobReadsTheMemberByItsSha) {
  auto t = Tree("t", "circuit.json", "{\"cfg\": 1}");
  auto got = ReadOutputFile(store_.get(), t.uri, kMembers);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->bytes, "{\"cfg\": 1}");
  EXPECT_NE(got->source.find(MemberSha(t, "circuit.json")), std::string::npos) << got->source;
  EXPECT_NE(got->source.find(t.uri), std::string::npos) << got->source;
}

TEST_F(ArtifactReader, TreeWithNestedCircuitFolderIsFound) {
  auto t = Tree("n", "circuit/circuit.json", "nested-tree");
  auto got = ReadOutputFile(store_.get(), t.uri, kMembers);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->bytes, "nested-tree");
}

TEST_F(ArtifactReader, TreeWithoutTheMemberIsNotFoundListingWhatWasTried) {
  auto t = Tree("x", "other.json", "x");
  auto got = ReadOutputFile(store_.get(), t.uri, kMembers);
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
  EXPECT_NE(got.status().message().find("circuit.json, circuit/circuit.json"), std::string::npos)
      << got.status().ToString();
}

TEST_F(ArtifactReader, CorruptMemberIsDataLossNamingTheBlobAndIsQuarantined) {
  auto t = Tree("bad", "circuit.json", RandomBytes(5000, 3));
  const std::string sha = MemberSha(t, "circuit.json");
  FlipByte(store_->BlobPath(sha), 4321);
  auto got = ReadOutputFile(store_.get(), t.uri, kMembers);
  EXPECT_EQ(got.status().code(), StatusCode::kDataLoss) << got.status().ToString();
  EXPECT_NE(got.status().message().find(sha), std::string::npos) << got.status().ToString();
  EXPECT_NE(got.status().message().find("circuit.json"), std::string::npos) << got.status().ToString();
  EXPECT_FALSE(store_->Has(sha));  // moved to corrupt/, never served again
  // Read again: the blob is gone, which is NOT_FOUND naming it (not stale bytes).
  auto again = ReadOutputFile(store_.get(), t.uri, kMembers);
  EXPECT_EQ(again.status().code(), StatusCode::kNotFound);
  EXPECT_NE(again.status().message().find(sha), std::string::npos);
}

TEST_F(ArtifactReader, CorruptManifestIsDataLoss) {
  auto t = Tree("badm", "circuit.json", "ok");
  FlipByte(store_->BlobPath(t.manifest_sha), 3);
  auto got = ReadOutputFile(store_.get(), t.uri, kMembers);
  EXPECT_EQ(got.status().code(), StatusCode::kDataLoss) << got.status().ToString();
  EXPECT_NE(got.status().message().find(t.manifest_sha), std::string::npos);
  EXPECT_NE(got.status().message().find("manifest"), std::string::npos);
}

TEST_F(ArtifactReader, MissingBlobIsNotFound) {
  const std::string absent(64, 'a');
  auto tree = ReadOutputFile(store_.get(), transfer::FormatBlobUri(absent), kMembers);
  EXPECT_EQ(tree.status().code(), StatusCode::kNotFound);
  EXPECT_NE(tree.status().message().find(absent), std::string::npos);
  auto file = ReadOutputFile(store_.get(), transfer::FormatBlobUri(absent, "circuit.json"), kMembers);
  EXPECT_EQ(file.status().code(), StatusCode::kNotFound);
  auto t = Tree("m", "circuit.json", "member");
  ASSERT_TRUE(store_->Remove(MemberSha(t, "circuit.json")).ok());
  auto member = ReadOutputFile(store_.get(), t.uri, kMembers);
  EXPECT_EQ(member.status().code(), StatusCode::kNotFound);
  EXPECT_NE(member.status().message().find("member 'circuit.json'"), std::string::npos) << member.status().ToString();
}

TEST_F(ArtifactReader, MemberSizeOtherThanTheManifestsIsDataLoss) {
  WriteFile(dir_.file("f"), "12345");
  auto b = store_->PutFile(dir_.file("f"));
  ASSERT_TRUE(b.ok());
  transfer::TreeManifest m;
  m.files.push_back({"circuit.json", b->sha256, 4});  // the blob has 5 bytes
  WriteFile(dir_.file("manifest"), transfer::SerializeManifest(m));
  auto mb = store_->PutFile(dir_.file("manifest"));
  ASSERT_TRUE(mb.ok());
  auto got = ReadOutputFile(store_.get(), transfer::FormatBlobUri(mb->sha256), kMembers);
  EXPECT_EQ(got.status().code(), StatusCode::kDataLoss) << got.status().ToString();
}

TEST_F(ArtifactReader, InvalidManifestIsInvalidArgument) {
  WriteFile(dir_.file("manifest"), "{\"type\":\"tree\",\"files\":[{\"path\":\"../x\",\"sha256\":\"" +
                                       std::string(64, 'b') + "\",\"size\":1}]}");
  auto mb = store_->PutFile(dir_.file("manifest"));
  ASSERT_TRUE(mb.ok());
  auto got = ReadOutputFile(store_.get(), transfer::FormatBlobUri(mb->sha256), kMembers);
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(got.status().message().find("files[0]"), std::string::npos) << got.status().ToString();
}

TEST_F(ArtifactReader, BlobUriWithoutAStoreIsFailedPrecondition) {
  auto got = ReadOutputFile(nullptr, transfer::FormatBlobUri(std::string(64, 'c')), kMembers);
  EXPECT_EQ(got.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(got.status().message().find("--artifacts"), std::string::npos);
}

TEST_F(ArtifactReader, MalformedBlobUriIsInvalidArgument) {
  auto got = ReadOutputFile(store_.get(), "blob:not-a-sha", kMembers);
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(got.status().message().find("blob:not-a-sha"), std::string::npos);
}

TEST_F(ArtifactReader, FilesAboveTheLimitAreResourceExhausted) {
  auto t = Tree("big", "circuit.json", std::string(1000, 'x'));
  EXPECT_EQ(ReadOutputFile(store_.get(), t.uri, kMembers, 999).status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(ReadOutputFile(store_.get(), t.uri, kMembers, 1000).ok());
  WriteFile(dir_.file("p/circuit.json"), std::string(1000, 'y'));
  EXPECT_EQ(ReadOutputFile(nullptr, dir_.file("p"), kMembers, 999).status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace fc::artifacts
