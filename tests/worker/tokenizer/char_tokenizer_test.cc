// The char tokenizer of our tiny models: characters, whole-number tokens, unk, BOS/EOS/pad = 0,
// and a tokenizer.json that HF `tokenizers` loads and encodes identically.
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "tests/worker/tokenizer/node_fixtures.h"
#include "worker/tokenizer/tokenizer.h"

namespace fc::text {
namespace {

std::unique_ptr<Tokenizer> WithNumbers(int64_t max) {
  return MakeCharTokenizer(DefaultCharAlphabet(), CharTokenizerOptions{max});
}

TEST(CharTokenizer, EveryCharacterIsOneTokenAndRoundTrips) {
  auto tok = MakeCharTokenizer(DefaultCharAlphabet());
  const std::string text = "Calculate ... 72 - 46 =\n26 (a, b) {x}~";
  std::vector<int64_t> ids = tok->Encode(text);
  EXPECT_EQ(ids.size(), text.size());
  EXPECT_EQ(tok->Decode(ids), text);
  EXPECT_EQ(tok->vocab_size(), 2 + 96);
  EXPECT_EQ(tok->Encode("26").size(), 2u);  // digits only: a multi-digit answer is not one token
}

TEST(CharTokenizer, SpecialIdsAreEndOfTextZero) {
  auto tok = MakeCharTokenizer(DefaultCharAlphabet());
  EXPECT_EQ(tok->bos_id(), 0);
  EXPECT_EQ(tok->eos_id(), 0);
  EXPECT_EQ(tok->pad_id(), 0);
  EXPECT_EQ(tok->IdToToken(0), "<|endoftext|>");
  EXPECT_EQ(tok->Encode("a<|endoftext|>b"), (std::vector<int64_t>{*tok->TokenToId("a"), 0, *tok->TokenToId("b")}));
  auto with_bos = EncodeWithBos(*tok, "ab");
  ASSERT_TRUE(with_bos.ok());
  EXPECT_EQ(with_bos->front(), 0);
  EXPECT_EQ(with_bos->size(), 3u);
  // HF's default (post-processor none) adds nothing, like Pythia's fine-tuning tokenization.
  EXPECT_EQ(tok->EncodeWithSpecialTokens("ab"), tok->Encode("ab"));
}

TEST(CharTokenizer, CharactersOutsideTheAlphabetBecomeUnk) {
  auto tok = MakeCharTokenizer("ab");
  EXPECT_EQ(tok->Encode("a\xC3\xA9z"), (std::vector<int64_t>{2, 1, 1}));  // "aéz"
  EXPECT_EQ(tok->DecodeSkippingSpecial(tok->Encode("a\xC3\xA9z")), "a");
}

TEST(CharTokenizer, NumberTokensMakeNumbersUpToMaxSingleTokens) {
  auto tok = WithNumbers(999);
  EXPECT_EQ(tok->vocab_size(), 2 + 96 + 990);
  for (int n : {0, 7, 10, 26, 100, 105, 110, 199, 500, 909, 990, 999}) {
    auto id = EncodeSingleToken(*tok, std::to_string(n), "number");
    ASSERT_TRUE(id.ok()) << n << ": " << id.status().ToString();
    EXPECT_EQ(tok->IdToToken(*id), std::to_string(n));
  }
  EXPECT_EQ(tok->Encode("1000").size(), 2u);
  EXPECT_EQ(tok->Decode(tok->Encode("1000")), "1000");
  EXPECT_EQ(tok->Encode("007").size(), 3u);  // no token has a leading zero
  EXPECT_FALSE(EncodeSingleToken(*tok, "1234", "label").ok());
  // The training text `input + "\n" + output` keeps the answer a single token after "\n".
  const std::vector<int64_t> ids = tok->Encode("72 - 46 =\n26");
  ASSERT_EQ(ids.size(), 9u);
  EXPECT_EQ(tok->IdToToken(ids[0]), "72");
  EXPECT_EQ(tok->IdToToken(ids[4]), "46");
  EXPECT_EQ(tok->IdToToken(ids[8]), "26");
}

TEST(CharTokenizer, SaveReadsBackIdentically) {
  auto tok = WithNumbers(250);
  const auto dir = testing::MakeTempDir("char");
  const std::string path = (dir / "tokenizer.json").string();
  ASSERT_TRUE(tok->Save(path).ok());
  auto back = Tokenizer::FromFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  for (const std::string& s : {"Derive the following sequence: 5, 10, 15, 20,", "251 249 2500 \n\n x", "\xC3\xA9!"}) {
    EXPECT_EQ((*back)->Encode(s), tok->Encode(s)) << s;
    EXPECT_EQ((*back)->Decode(tok->Encode(s)), tok->Decode(tok->Encode(s))) << s;
  }
  EXPECT_EQ((*back)->bos_id(), 0);
  EXPECT_EQ((*back)->eos_id(), 0);
  EXPECT_EQ((*back)->pad_id(), 0);
  EXPECT_EQ((*back)->vocab_size(), tok->vocab_size());
  std::filesystem::remove_all(dir);
}

TEST(CharTokenizer, HfTokenizersLoadsTheSavedFileAndAgrees) {
  if (!testing::HaveNode() || !std::filesystem::exists(testing::HfTokenizersDir() + "/index.js")) {
    GTEST_SKIP() << "node or HF tokenizers (npm) not installed under " << testing::HfTokenizersDir();
  }
  auto tok = WithNumbers(999);
  const auto dir = testing::MakeTempDir("charhf");
  const std::string path = (dir / "tokenizer.json").string();
  ASSERT_TRUE(tok->Save(path).ok());
  const std::string script = R"JS(
const hf = require(process.env.FC_HF_DIR);
const input = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const t = hf.Tokenizer.fromFile(input.path);
(async () => {
  const out = [];
  for (const s of input.texts) {
    const ids = (await t.encode(s)).getIds();
    out.push({ids, decoded: await t.decode(ids, false)});
  }
  process.stdout.write(JSON.stringify({out, vocab: t.getVocabSize(true)}));
})();
)JS";
  setenv("FC_HF_DIR", testing::HfTokenizersDir().c_str(), 1);
  std::vector<std::string> texts = {
      "Calculate the result of the following arithmetic expression and provide only the final answer: 72 - 46 =\n26",
      "(12 + 7) * 3 =\n57<|endoftext|><|endoftext|>", "1000 1001 10000 909 0 00 007 12345678 999999",
      "Derive the following sequence: 5, 10, 15, 20,\n25", "caf\xC3\xA9 \xE4\xBD\xA0 tab\there"};
  for (int n = 0; n <= 1200; n += 37) texts.push_back(std::to_string(n) + "x" + std::to_string(n * 7));
  std::string error;
  auto out = testing::RunNode(script, {{"path", path}, {"texts", texts}}, &error);
  ASSERT_TRUE(out.has_value()) << error;
  EXPECT_EQ((*out)["vocab"].get<int64_t>(), tok->vocab_size());
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto& o = (*out)["out"][i];
    EXPECT_EQ(tok->EncodeWithSpecialTokens(texts[i]), o["ids"].get<std::vector<int64_t>>()) << texts[i];
    EXPECT_EQ(tok->Decode(tok->Encode(texts[i])), o["decoded"].get<std::string>()) << texts[i];
  }
  std::filesystem::remove_all(dir);
}

TEST(CharTokenizer, ConcurrentEncodesAgreeWithSequentialOnes) {
  // The word cache is shared; four threads encoding overlapping texts must see the same ids.
  auto tok = WithNumbers(999);
  std::vector<std::string> texts;
  for (int i = 0; i < 2000; ++i) texts.push_back(std::to_string(i % 300) + " + " + std::to_string(i) + " =\n");
  std::vector<std::vector<int64_t>> expected;
  for (const auto& t : texts) expected.push_back(tok->Encode(t));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (size_t i = w; i < texts.size() * 3; i += 4) {
        if (tok->Encode(texts[i % texts.size()]) != expected[i % texts.size()]) ++mismatches[w];
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace fc::text
