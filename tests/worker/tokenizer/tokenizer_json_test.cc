// tokenizer.json reading: both merges variants, added tokens (matched before BPE, lstrip),
// TemplateProcessing BOS, NFC normalizer, Sequence pre-tokenizer; errors name file and field;
// Save() writes a file that reads back identically.
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/worker/tokenizer/node_fixtures.h"
#include "worker/tokenizer/tokenizer.h"

namespace fc::text {
namespace {

std::string TestData(const std::string& name) {
  const char* src = std::getenv("FC_SOURCE_DIR");
  return std::string(src && *src ? src : ".") + "/tests/worker/tokenizer/testdata/" + name;
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class TinyFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(TinyFixture, EncodesLikeHandDerivedExpectations) {
  auto tok = Tokenizer::FromFile(TestData(GetParam()));
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const Tokenizer& t = **tok;
  // "hello": h e -> he, l l -> ll, he ll -> hell, hell o -> hello; " world" -> Ġworld.
  EXPECT_EQ(t.Encode("hello world"), (std::vector<int64_t>{13, 18}));
  EXPECT_EQ(t.EncodeWithSpecialTokens("hello world"), (std::vector<int64_t>{1, 13, 18}));
  // <mask> has lstrip: it swallows the spaces on its left.
  EXPECT_EQ(t.Encode("hello   <mask>!"), (std::vector<int64_t>{13, 19, 20}));
  // Added tokens split the text before BPE, wherever they occur.
  EXPECT_EQ(t.Encode("hello<s>world"), (std::vector<int64_t>{13, 1, 6, 15, 4, 8}));
  // Characters missing from the vocabulary, with no unk token, are dropped (as HF does).
  EXPECT_EQ(t.Encode("xyz hello"), (std::vector<int64_t>{9, 13}));
  EXPECT_EQ(t.Decode(t.Encode("hello\nworld!")), "hello\nworld!");
  EXPECT_EQ(t.bos_id(), 1);  // the template's leading special token
  EXPECT_EQ(t.eos_id(), 0);  // <|endoftext|>
  EXPECT_EQ(t.pad_id(), 0);  // no explicit pad: pad = eos
  EXPECT_EQ(t.vocab_size(), 22);
  EXPECT_EQ(t.TokenToId("\xC4\xA0world"), 18);
  EXPECT_EQ(t.TokenToId("nope"), std::nullopt);
}

TEST_P(TinyFixture, MatchesHfTokenizers) {
  if (!testing::HaveNode() || !std::filesystem::exists(testing::HfTokenizersDir() + "/index.js")) {
    GTEST_SKIP() << "node or HF tokenizers (npm) not installed under " << testing::HfTokenizersDir();
  }
  const std::string script = R"JS(
const hf = require(process.env.FC_HF_DIR);
const input = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const t = hf.Tokenizer.fromFile(input.path);
(async () => {
  const out = [];
  for (const s of input.texts) {
    const plain = (await t.encode(s, null, {addSpecialTokens: false})).getIds();
    const special = (await t.encode(s)).getIds();
    out.push({plain, special, decoded: await t.decode(plain, false)});
  }
  process.stdout.write(JSON.stringify(out));
})();
)JS";
  setenv("FC_HF_DIR", testing::HfTokenizersDir().c_str(), 1);
  const std::vector<std::string> texts = {"hello world", "hello <mask>", "hello   <mask>!", "xyz hello",
                                          "hello\nworld!", "hello<s>world", "<|endoftext|>hello world"};
  std::string error;
  auto out = testing::RunNode(script, {{"path", TestData(GetParam())}, {"texts", texts}}, &error);
  ASSERT_TRUE(out.has_value()) << error;
  auto tok = Tokenizer::FromFile(TestData(GetParam()));
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto& o = (*out)[i];
    EXPECT_EQ((*tok)->Encode(texts[i]), o["plain"].get<std::vector<int64_t>>()) << texts[i];
    EXPECT_EQ((*tok)->EncodeWithSpecialTokens(texts[i]), o["special"].get<std::vector<int64_t>>()) << texts[i];
    EXPECT_EQ((*tok)->Decode((*tok)->Encode(texts[i])), o["decoded"].get<std::string>()) << texts[i];
  }
}

TEST_P(TinyFixture, SaveReadsBackIdentically) {
  auto tok = Tokenizer::FromFile(TestData(GetParam()));
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const auto dir = testing::MakeTempDir("save");
  const std::string a = (dir / "a.json").string(), b = (dir / "b.json").string();
  ASSERT_TRUE((*tok)->Save(a).ok());
  auto back = Tokenizer::FromFile(a);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_TRUE((*back)->Save(b).ok());
  EXPECT_EQ(ReadAll(a), ReadAll(b));
  for (const std::string& s : {"hello world", "hello <mask>!", "hello<s>world", "\n\nhello"}) {
    EXPECT_EQ((*back)->Encode(s), (*tok)->Encode(s)) << s;
    EXPECT_EQ((*back)->EncodeWithSpecialTokens(s), (*tok)->EncodeWithSpecialTokens(s)) << s;
  }
  EXPECT_EQ((*back)->bos_id(), (*tok)->bos_id());
  EXPECT_EQ((*back)->vocab_size(), (*tok)->vocab_size());
  std::filesystem::remove_all(dir);
}

// single_word added tokens: rejected next to a letter, digit or '_' (also non-ASCII letters),
// and a rejected match's characters are not rescanned (HF's non-overlapping match scan).
TEST(TokenizerJson, SingleWordAddedTokensMatchHf) {
  nlohmann::json doc = nlohmann::json::parse(ReadAll(TestData("tiny_bpe_pair_merges.json")));
  for (auto [content, id] : {std::pair<std::string, int>{"ell", 22}, {"wo", 23}}) {
    doc["added_tokens"].push_back({{"id", id}, {"content", content}, {"single_word", true}, {"lstrip", false},
                                   {"rstrip", false}, {"normalized", false}, {"special", false}});
    doc["model"]["vocab"][content] = id;
  }
  auto tok = Tokenizer::FromJsonString(doc.dump(), "single_word.json");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  // Expected ids as HF tokenizers 0.23 produced them for this document.
  const std::vector<std::pair<std::string, std::vector<int64_t>>> cases = {
      {"hello", {13}},        {"ell", {22}},    {"h ell o", {2, 9, 22, 9, 5}}, {"_ell", {3, 11}},
      {"\xC3\xA9" "ell", {3, 11}}, {"ell!", {22, 20}}, {"ell_", {3, 11}},  {"1ell", {3, 11}},
      {"hwo", {2, 6, 5}},    {"hello wo", {13, 9, 23}},         {"ellwo", {3, 11, 6, 5}}, {"ell wo", {22, 9, 23}},
  };
  for (const auto& [text, ids] : cases) EXPECT_EQ((*tok)->Encode(text), ids) << text;
}

// lstrip / rstrip swallow Unicode white space (ideographic space, NBSP, em space) like HF.
TEST(TokenizerJson, StripOptionsSwallowUnicodeWhiteSpace) {
  nlohmann::json doc = nlohmann::json::parse(ReadAll(TestData("tiny_bpe_pair_merges.json")));
  doc["added_tokens"].push_back({{"id", 22}, {"content", "<r>"}, {"single_word", false}, {"lstrip", false},
                                 {"rstrip", true}, {"normalized", false}, {"special", true}});
  doc["model"]["vocab"]["<r>"] = 22;
  auto tok = Tokenizer::FromJsonString(doc.dump(), "strip.json");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  // Expected ids as HF tokenizers 0.23 produced them for this document.
  EXPECT_EQ((*tok)->Encode("hello\xE3\x80\x80<mask>"), (std::vector<int64_t>{13, 19}));
  EXPECT_EQ((*tok)->Encode("hello\xC2\xA0\t <mask>"), (std::vector<int64_t>{13, 19}));
  EXPECT_EQ((*tok)->Encode("<r>\xE2\x80\x83 hello"), (std::vector<int64_t>{22, 13}));
  EXPECT_EQ((*tok)->Encode("<r>\nhello"), (std::vector<int64_t>{22, 13}));
  EXPECT_EQ((*tok)->Encode("hello <mask><r> world"), (std::vector<int64_t>{13, 19, 22, 6, 15, 4, 8}));
}

INSTANTIATE_TEST_SUITE_P(BothMergeFormats, TinyFixture,
                         ::testing::Values("tiny_bpe_string_merges.json", "tiny_bpe_pair_merges.json"));

TEST(TokenizerJson, TokenizerConfigBesideTheFileNamesSpecialTokens) {
  const auto dir = testing::MakeTempDir("cfg");
  std::filesystem::copy_file(TestData("tiny_bpe_pair_merges.json"), dir / "tokenizer.json");
  testing::WriteText(dir / "tokenizer_config.json",
                     R"({"bos_token": "<|endoftext|>", "eos_token": {"content": "<s>"}, "pad_token": "<mask>"})");
  auto tok = Tokenizer::FromFile((dir / "tokenizer.json").string());
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ((*tok)->bos_id(), 0);
  EXPECT_EQ((*tok)->eos_id(), 1);
  EXPECT_EQ((*tok)->pad_id(), 19);
  testing::WriteText(dir / "tokenizer_config.json", R"({"bos_token": "<nope>"})");
  auto bad = Tokenizer::FromFile((dir / "tokenizer.json").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("tokenizer_config.json"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("bos_token"), std::string::npos) << bad.status().message();
  std::filesystem::remove_all(dir);
}

// Each broken document must fail with the file name and the JSON path of the culprit.
struct BadCase {
  std::string name;
  std::function<void(nlohmann::json*)> mutate;
  std::string expected_path;
};

TEST(TokenizerJson, BadFilesNameFileAndField) {
  const nlohmann::json good = nlohmann::json::parse(ReadAll(TestData("tiny_bpe_string_merges.json")));
  const std::vector<BadCase> cases = {
      {"unknown model type", [](nlohmann::json* d) { (*d)["model"]["type"] = "WordPiece"; }, "model.type"},
      {"missing model type", [](nlohmann::json* d) { (*d)["model"].erase("type"); }, "model.type"},
      {"missing model", [](nlohmann::json* d) { d->erase("model"); }, "'model'"},
      {"missing vocab", [](nlohmann::json* d) { (*d)["model"].erase("vocab"); }, "model.vocab"},
      {"non-integer id", [](nlohmann::json* d) { (*d)["model"]["vocab"]["h"] = "2"; }, "model.vocab[\"h\"]"},
      {"missing merges", [](nlohmann::json* d) { (*d)["model"].erase("merges"); }, "model.merges"},
      {"one-part merge", [](nlohmann::json* d) { (*d)["model"]["merges"][1] = "ll"; }, "model.merges[1]"},
      {"three-part merge", [](nlohmann::json* d) { (*d)["model"]["merges"][2] = {"a", "b", "c"}; }, "model.merges[2]"},
      {"merge not in vocab", [](nlohmann::json* d) { (*d)["model"]["merges"][0] = "x y"; }, "model.merges[0]"},
      {"byte fallback", [](nlohmann::json* d) { (*d)["model"]["byte_fallback"] = true; }, "model.byte_fallback"},
      {"unknown pre-tokenizer",
       [](nlohmann::json* d) { (*d)["pre_tokenizer"]["pretokenizers"][0]["type"] = "Metaspace"; },
       "pre_tokenizer.pretokenizers[0].type"},
      {"unknown normalizer", [](nlohmann::json* d) { (*d)["normalizer"]["type"] = "Lowercase"; }, "normalizer.type"},
      {"unknown decoder", [](nlohmann::json* d) { (*d)["decoder"]["type"] = "WordPiece"; }, "decoder.type"},
      {"unknown template token",
       [](nlohmann::json* d) { (*d)["post_processor"]["single"][0]["SpecialToken"]["id"] = "<bos>"; },
       "post_processor.single[0]"},
      {"added token without content", [](nlohmann::json* d) { (*d)["added_tokens"][0].erase("content"); },
       "added_tokens[0].content"},
      {"added token id clash", [](nlohmann::json* d) { (*d)["added_tokens"][2]["id"] = 2; }, "added_tokens[2]"},
      {"unk not in vocab", [](nlohmann::json* d) { (*d)["model"]["unk_token"] = "<unk>"; }, "model.unk_token"},
  };
  for (const BadCase& c : cases) {
    nlohmann::json doc = good;
    c.mutate(&doc);
    auto tok = Tokenizer::FromJsonString(doc.dump(), "bad/tokenizer.json");
    ASSERT_FALSE(tok.ok()) << c.name;
    EXPECT_EQ(tok.status().code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(tok.status().message().find("bad/tokenizer.json"), std::string::npos) << tok.status().message();
    EXPECT_NE(tok.status().message().find(c.expected_path), std::string::npos)
        << c.name << ": " << tok.status().message();
  }
}

TEST(TokenizerJson, InvalidJsonAndMissingFileAreClearErrors) {
  auto bad = Tokenizer::FromJsonString("{\"model\": ", "x/tokenizer.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("x/tokenizer.json: invalid JSON"), std::string::npos);
  auto missing = Tokenizer::FromFile("/nonexistent/tokenizer.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/tokenizer.json"), std::string::npos);
}

}  // namespace
}  // namespace fc::text
