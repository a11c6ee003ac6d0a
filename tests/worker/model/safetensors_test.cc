#include "worker/model/safetensors.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "tests/worker/model/model_test_util.h"

namespace fc::model {
namespace {

using testing::TempDir;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Writes [u64 len][header][data] by hand so malformed files can be produced.
void WriteRaw(const std::string& path, const std::string& header, const std::string& data,
              uint64_t declared_len) {
  std::ofstream out(path, std::ios::binary);
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((declared_len >> (8 * i)) & 0xff));
  out << header << data;
}
void WriteRaw(const std::string& path, const std::string& header, const std::string& data) {
  WriteRaw(path, header, data, header.size());
}

TEST(Safetensors, RoundTripKeepsValuesDtypesShapesAndMetadata) {
  TempDir dir;
  torch::manual_seed(1);
  NamedTensors in = {
      {"f32", torch::randn({3, 4})},
      {"f16", torch::randn({5}).to(torch::kFloat16)},
      {"bf16", torch::randn({2, 3, 2}).to(torch::kBFloat16)},
      {"i64", torch::arange(7, torch::kInt64)},
      {"i32", torch::arange(3, torch::kInt32).view({3, 1})},
      {"u8", torch::arange(5, torch::kUInt8)},
      {"scalar", torch::scalar_tensor(2.5f)},
  };
  const std::string path = dir / "a.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, in, {{"format", "pt"}}).ok());
  auto file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ((*file)->metadata().at("format"), "pt");
  ASSERT_EQ((*file)->tensors().size(), in.size());
  for (const auto& [name, t] : in) {
    auto view = (*file)->View(name);
    ASSERT_TRUE(view.ok()) << name;
    EXPECT_EQ(view->scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(view->sizes(), t.sizes()) << name;
    EXPECT_TRUE(torch::equal(*view, t)) << name;
  }
  auto loaded = (*file)->Load("bf16", torch::kCPU, torch::kFloat32);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(*loaded, in[2].second.to(torch::kFloat32)));
}

TEST(Safetensors, LoadNeverAliasesTheMapping) {
  TempDir dir;
  const std::string path = dir / "a.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, {{"x", torch::ones({4})}}).ok());
  auto file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok());
  auto view = (*file)->View("x");
  auto same_dtype = (*file)->Load("x", torch::kCPU, torch::kFloat32);
  ASSERT_TRUE(view.ok() && same_dtype.ok());
  EXPECT_NE(view->data_ptr(), same_dtype->data_ptr());
  same_dtype->fill_(3.0);  // writable, the read-only mapping untouched
  EXPECT_EQ(view->sum().item<float>(), 4.0f);
}

TEST(Safetensors, WriterIsDeterministicAndHeaderAligned) {
  TempDir dir;
  NamedTensors a = {{"b", torch::ones({3})}, {"a", torch::zeros({2}, torch::kFloat16)}};
  NamedTensors b = {{"a", torch::zeros({2}, torch::kFloat16)}, {"b", torch::ones({3})}};
  ASSERT_TRUE(WriteSafetensors(dir / "1.safetensors", a).ok());
  ASSERT_TRUE(WriteSafetensors(dir / "2.safetensors", b).ok());
  const std::string bytes = ReadBytes(dir / "1.safetensors");
  EXPECT_EQ(bytes, ReadBytes(dir / "2.safetensors"));
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + n + 2 * 2 + 3 * 4);
}

TEST(Safetensors, RejectsDuplicateNames) {
  TempDir dir;
  Status s = WriteSafetensors(dir / "d.safetensors", {{"x", torch::ones({1})}, {"x", torch::ones({1})}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("duplicate tensor name 'x'"), std::string::npos) << s.message();
}

struct BadFileCase {
  const char* what;
  std::string header;
  std::string data;
  int64_t declared_len;  // -1: the header's size
  const char* expect;    // substring of the message
};

TEST(Safetensors, BadFilesFailWithDataLossNamingFileAndTensor) {
  TempDir dir;
  const std::string f32x2 = std::string(8, '\0');
  std::vector<BadFileCase> cases = {
      {"header length past EOF", "{}", "", 1000, "exceeds the file size"},
      {"not json", "{oops", "", -1, "not valid JSON"},
      {"offsets out of range",
       R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", f32x2, -1,
       "tensor 'w': data_offsets [0, 16] out of range"},
      {"size mismatch", R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", f32x2, -1,
       "tensor 'w': F32 x [3] needs 12 bytes but data_offsets span 8"},
      {"overlap",
       R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       f32x2, -1, "tensors 'a' and 'b' overlap"},
      {"unknown dtype", R"({"w":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}})", f32x2, -1,
       "tensor 'w': unsupported dtype 'F8'"},
      {"missing fields", R"({"w":{"dtype":"F32"}})", "", -1, "tensor 'w': entry needs"},
      {"huge shape",
       R"({"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", f32x2,
       -1, "tensor 'w': shape [4611686018427387904,4] is too large"},
  };
  for (const auto& c : cases) {
    const std::string path = dir / "bad.safetensors";
    WriteRaw(path, c.header, c.data,
             c.declared_len < 0 ? c.header.size() : static_cast<uint64_t>(c.declared_len));
    auto f = SafetensorsFile::Open(path);
    ASSERT_FALSE(f.ok()) << c.what;
    EXPECT_EQ(f.status().code(), StatusCode::kDataLoss) << c.what;
    EXPECT_NE(f.status().message().find(path), std::string::npos) << f.status().message();
    EXPECT_NE(f.status().message().find(c.expect), std::string::npos)
        << c.what << ": " << f.status().message();
  }
}

TEST(Safetensors, TooShortFileAndMissingFile) {
  TempDir dir;
  std::ofstream(dir / "short.safetensors") << "abc";
  auto s = SafetensorsFile::Open(dir / "short.safetensors");
  EXPECT_EQ(s.status().code(), StatusCode::kDataLoss);
  auto m = SafetensorsFile::Open(dir / "none.safetensors");
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  EXPECT_NE(m.status().message().find("none.safetensors"), std::string::npos);
}

TEST(Safetensors, ShardedCheckpointFindsEveryTensorInItsShard) {
  TempDir dir;
  NamedTensors in;
  for (int i = 0; i < 6; ++i) in.emplace_back("t" + std::to_string(i), torch::full({16}, i * 1.0f));
  ASSERT_TRUE(WriteShardedSafetensors(dir.path(), in, /*max_shard_bytes=*/100).ok());
  // 64-byte tensors, at most 100 bytes per shard: one tensor per shard.
  EXPECT_TRUE(std::filesystem::exists(dir / "model-00006-of-00006.safetensors"));
  auto ck = SafetensorsCheckpoint::Open(dir.path());
  ASSERT_TRUE(ck.ok()) << ck.status().ToString();
  EXPECT_EQ((*ck)->Names().size(), 6u);
  for (const auto& [name, t] : in) {
    auto found = (*ck)->Find(name);
    ASSERT_TRUE(found.ok()) << name;
    auto v = found->first->View(name);
    ASSERT_TRUE(v.ok());
    EXPECT_TRUE(torch::equal(*v, t)) << name;
  }
  auto missing = (*ck)->Find("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("model.safetensors.index.json"), std::string::npos);
}

TEST(Safetensors, IndexPointingToAShardWithoutTheTensorIsDataLoss) {
  TempDir dir;
  ASSERT_TRUE(WriteSafetensors(dir / "s1.safetensors", {{"a", torch::ones({1})}}).ok());
  std::ofstream(dir / "model.safetensors.index.json")
      << R"({"metadata":{},"weight_map":{"a":"s1.safetensors","b":"s1.safetensors"}})";
  auto ck = SafetensorsCheckpoint::Open(dir.path());
  ASSERT_FALSE(ck.ok());
  EXPECT_EQ(ck.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(ck.status().message().find("'b'"), std::string::npos) << ck.status().message();
}

}  // namespace
}  // namespace fc::model
