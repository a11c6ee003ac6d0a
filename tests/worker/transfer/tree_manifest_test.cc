// Tree manifests (canonical form, validation against path traversal) and blob uris.
#include "worker/transfer/tree_manifest.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "coordinator/artifacts/sha256_hasher.h"
#include "tests/coordinator/artifacts/test_files.h"
#include "worker/transfer/artifact_uri.h"

namespace fc::transfer {
namespace {

using artifacts::Sha256Hex;
using artifacts::testing::TempDir;
using artifacts::testing::WriteFile;

std::string Manifest(const std::string& path, const std::string& sha = Sha256Hex("x"), int64_t size = 1) {
  return fmt::format(R"({{"type":"tree","files":[{{"path":"{}","sha256":"{}","size":{}}}]}})", path, sha, size);
}

TEST(TreeManifestTest, SerializationIsCanonicalAndSortedSoTheSameTreeHasOneAddress) {
  TreeManifest a;
  a.files = {{"b.txt", Sha256Hex("b"), 1}, {"a/c.bin", Sha256Hex("c"), 2}};
  TreeManifest b;
  b.files = {{"a/c.bin", Sha256Hex("c"), 2}, {"b.txt", Sha256Hex("b"), 1}};
  EXPECT_EQ(SerializeManifest(a), SerializeManifest(b));
  EXPECT_EQ(SerializeManifest(a).find(' '), std::string::npos);
  auto parsed = ParseManifest(SerializeManifest(a), "t");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->files.size(), 2u);
  EXPECT_EQ(parsed->files[0].path, "a/c.bin");
  EXPECT_EQ(parsed->TotalSize(), 3);
}

TEST(TreeManifestTest, TraversalAbsoluteAndOddPathsAreRejected) {
  for (const char* bad : {"../evil", "a/../../evil", "/etc/passwd", "a//b", "./a", "a/.", "", "a\\\\b"}) {
    auto m = ParseManifest(Manifest(bad), "m1");
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(m.status().message().find("m1 files[0]"), std::string::npos) << m.status().message();
  }
  EXPECT_TRUE(ParseManifest(Manifest("a/b..c/.d"), "m").ok());
}

TEST(TreeManifestTest, StructuralErrorsNameTheField) {
  auto code = [](const std::string& j) { return ParseManifest(j, "m").status(); };
  EXPECT_NE(code("[]").message().find("not a JSON object"), std::string::npos);
  EXPECT_NE(code(R"({"type":"file","files":[]})").message().find("'type'"), std::string::npos);
  EXPECT_NE(code(R"({"type":"tree"})").message().find("'files'"), std::string::npos);
  EXPECT_NE(code(Manifest("a", "abc")).message().find("'sha256'"), std::string::npos);
  EXPECT_NE(code(Manifest("a", Sha256Hex("x"), -1)).message().find("'size'"), std::string::npos);
  const std::string two = fmt::format(
      R"({{"type":"tree","files":[{{"path":"b","sha256":"{0}","size":1}},{{"path":"a","sha256":"{0}","size":1}}]}})",
      Sha256Hex("x"));
  EXPECT_NE(code(two).message().find("sorted"), std::string::npos);
  const std::string clash = fmt::format(
      R"({{"type":"tree","files":[{{"path":"a","sha256":"{0}","size":1}},{{"path":"a/b","sha256":"{0}","size":1}}]}})",
      Sha256Hex("x"));
  EXPECT_NE(code(clash).message().find("both a file and the parent"), std::string::npos);
  EXPECT_TRUE(ParseManifest(R"({"type":"tree","files":[]})", "m").ok());
}

TEST(TreeManifestTest, ListTreeFilesFindsNestedFilesAndRejectsLinksToDirectories) {
  TempDir dir;
  WriteFile(dir.file("t/z.txt"), "z");
  WriteFile(dir.file("t/sub/deeper/a.bin"), "a");
  WriteFile(dir.file("t/sub/b.json"), "b");
  std::filesystem::create_directories(dir.file("t/empty"));
  ASSERT_EQ(::symlink("z.txt", dir.file("t/link").c_str()), 0);
  auto files = ListTreeFiles(dir.file("t"));
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  std::vector<std::string> rels;
  for (const TreeFile& f : *files) rels.push_back(f.rel);
  EXPECT_EQ(rels, (std::vector<std::string>{"link", "sub/b.json", "sub/deeper/a.bin", "z.txt"}));

  ASSERT_EQ(::symlink(dir.file("t/sub").c_str(), dir.file("t/dirlink").c_str()), 0);
  auto bad = ListTreeFiles(dir.file("t"));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("dirlink"), std::string::npos) << bad.status().message();
  EXPECT_EQ(ListTreeFiles(dir.file("missing")).status().code(), StatusCode::kNotFound);
}

TEST(ArtifactUriTest, TreesAndNamedFilesParseAndBadUrisAreRejected) {
  const std::string sha = Sha256Hex("q");
  auto t = ParseBlobUri(FormatBlobUri(sha));
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->is_tree());
  EXPECT_EQ(t->sha256, sha);
  auto f = ParseBlobUri(FormatBlobUri(sha, "rows.jsonl"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->file_name, "rows.jsonl");
  EXPECT_FALSE(IsBlobUri("/tmp/x"));
  EXPECT_EQ(ParseBlobUri("blob:" + sha + "/../x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseBlobUri("blob:" + sha + "/a/b").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseBlobUri("blob:xyz").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fc::transfer
