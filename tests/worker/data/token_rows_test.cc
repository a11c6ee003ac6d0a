// Token-id builders: the fine-tuning example and its loss mask in both modes (algorithms.md 6.2
// and bug 12.12), and circuit rows with BOS, lengths, label ids and the length check (3.1).
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/worker/data/test_tokenizers.h"
#include "worker/data/circuit_rows.h"
#include "worker/data/finetune_example.h"
#include "worker/data/tasks.h"

namespace fc::data {
namespace {

const TaskRow kRow{"Q: 72 - 46 =", "Q: 72 + 46 =", "26"};

TEST(FinetuneExample, MasksThePromptKeepsTheAnswerAndOneEos) {
  auto tok = testing::CharTokenizer999();
  // "Q: 72 - 46 =\n" is 11 tokens with number tokens (Q : space 72 space - space 46 space = \n).
  const std::vector<int64_t> prompt = tok->Encode("Q: 72 - 46 =\n");
  const std::vector<int64_t> full = tok->Encode("Q: 72 - 46 =\n26");
  ASSERT_EQ(full.size(), prompt.size() + 1);
  const int64_t max_len = 16;
  auto ex = BuildFinetuneExample(*tok, kRow, max_len);
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  ASSERT_EQ(ex->input_ids.size(), 16u);
  ASSERT_EQ(ex->attention_mask.size(), 16u);
  ASSERT_EQ(ex->labels.size(), 16u);
  const size_t n = full.size(), p = prompt.size();
  for (size_t i = 0; i < 16; ++i) {
    EXPECT_EQ(ex->input_ids[i], i < n ? full[i] : *tok->pad_id()) << i;
    EXPECT_EQ(ex->attention_mask[i], i < n ? 1 : 0) << i;
    if (i < p) {
      EXPECT_EQ(ex->labels[i], kIgnoreIndex) << "prompt position " << i;
    } else if (i < n) {
      EXPECT_EQ(ex->labels[i], full[i]) << "answer position " << i;
    } else if (i == n) {
      EXPECT_EQ(ex->labels[i], *tok->eos_id()) << "the first pad is the EOS target";
    } else {
      EXPECT_EQ(ex->labels[i], kIgnoreIndex) << "later pads are masked";
    }
  }
  EXPECT_EQ(tok->IdToToken(ex->labels[p]), "26");
}

TEST(FinetuneExample, OriginalModeTrainsOnEveryPad) {
  auto tok = testing::CharTokenizer999();
  auto fixed = BuildFinetuneExample(*tok, kRow, 16, true);
  auto orig = BuildFinetuneExample(*tok, kRow, 16, false);
  ASSERT_TRUE(fixed.ok() && orig.ok());
  EXPECT_EQ(orig->input_ids, fixed->input_ids);
  EXPECT_EQ(orig->attention_mask, fixed->attention_mask);
  const size_t n = tok->Encode("Q: 72 - 46 =\n26").size();
  for (size_t i = n; i < 16; ++i) EXPECT_EQ(orig->labels[i], *tok->pad_id()) << i;
  for (size_t i = 0; i <= n; ++i) EXPECT_EQ(orig->labels[i], fixed->labels[i]) << i;
}

TEST(FinetuneExample, TruncatesAtMaxLengthAndRejectsPromptsThatLeaveNoRoom) {
  auto tok = testing::CharTokenizer999();
  const TaskRow long_answer{"Q: =", "Q: -", "abcdefgh"};  // prompt "Q: =\n" = 5 tokens
  auto ex = BuildFinetuneExample(*tok, long_answer, 8);
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  EXPECT_EQ(ex->input_ids, tok->Encode("Q: =\nabc"));
  EXPECT_EQ(std::count(ex->attention_mask.begin(), ex->attention_mask.end(), 1), 8);
  auto too_short = BuildFinetuneExample(*tok, kRow, 11);
  ASSERT_FALSE(too_short.ok());
  EXPECT_NE(too_short.status().message().find("Q: 72 - 46 ="), std::string::npos) << too_short.status().message();
  EXPECT_NE(too_short.status().message().find("max_length 11"), std::string::npos);
  EXPECT_FALSE(BuildFinetuneExample(*tok, TaskRow{"Q", "R", ""}, 16).ok());
}

TEST(FinetuneExample, Gpt2HasNoBosAndPadsWithEndOfText) {
  auto tok = testing::Gpt2OrNull();
  if (!tok) GTEST_SKIP() << "GPT-2 fixture not installed";
  auto ex = BuildFinetuneExample(*tok, kRow, 32);
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  const auto full = tok->Encode("Q: 72 - 46 =\n26");
  EXPECT_EQ(std::vector<int64_t>(ex->input_ids.begin(), ex->input_ids.begin() + full.size()), full);
  EXPECT_EQ(ex->input_ids.back(), 50256);
}

TEST(FinetuneExample, PadsWithEosEvenWhenTheFileNamesAnotherPad) {
  auto base = testing::CharTokenizer999();
  const auto dir = testing::TempDir("pad");
  const std::string path = (dir / "tokenizer.json").string();
  ASSERT_TRUE(base->Save(path).ok());
  std::ifstream in(path);
  nlohmann::json doc = nlohmann::json::parse(in);
  doc["padding"] = {{"pad_id", 1}, {"pad_token", "<|unk|>"}};
  auto tok = text::Tokenizer::FromJsonString(doc.dump(), "padded.json");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  ASSERT_EQ((*tok)->pad_id(), 1);
  auto ex = BuildFinetuneExample(**tok, kRow, 16);
  ASSERT_TRUE(ex.ok());
  EXPECT_EQ(ex->input_ids.back(), 0) << "pad_token = eos_token, as the paper sets it";
  std::filesystem::remove_all(dir);
}

TEST(FinetuneExample, PromptIdsAndAnswerMatching) {
  auto tok = testing::CharTokenizer999();
  const std::vector<int64_t> prompt = FinetunePromptIds(*tok, kRow);
  EXPECT_EQ(prompt, tok->Encode("Q: 72 - 46 =\n"));
  const int64_t eos = *tok->eos_id();
  EXPECT_TRUE(AnswerMatches(*tok, {*tok->TokenToId("26"), eos, eos}, kRow));
  EXPECT_TRUE(AnswerMatches(*tok, tok->Encode(" 26\n"), kRow));
  EXPECT_FALSE(AnswerMatches(*tok, {*tok->TokenToId("27")}, kRow));
  EXPECT_FALSE(AnswerMatches(*tok, tok->Encode("266"), kRow));
  EXPECT_FALSE(AnswerMatches(*tok, {eos}, kRow));
}

TEST(CircuitRows, PrependBosKeepLengthsAndLabelIds) {
  auto tok = testing::CharTokenizer999();
  auto rows = GenerateTask({Task::kAddSub, 50, 9, 100}, *tok);
  ASSERT_TRUE(rows.ok());
  auto built = BuildCircuitBatchRows(*tok, *rows);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  ASSERT_EQ(built->size(), rows->size());
  for (size_t i = 0; i < rows->size(); ++i) {
    const CircuitRow& c = (*built)[i];
    EXPECT_EQ(c.clean_ids.front(), *tok->bos_id());
    EXPECT_EQ(std::vector<int64_t>(c.clean_ids.begin() + 1, c.clean_ids.end()), tok->Encode((*rows)[i].clean));
    EXPECT_EQ(c.corrupted_ids.size(), c.clean_ids.size());
    EXPECT_EQ(c.length, static_cast<int64_t>(c.clean_ids.size()));
    EXPECT_EQ(tok->IdToToken(c.label_id), (*rows)[i].label);
  }
  auto ft_format = BuildCircuitBatchRows(*tok, *rows, {false, true});
  ASSERT_TRUE(ft_format.ok());
  EXPECT_EQ((*ft_format)[0].clean_ids, tok->Encode((*rows)[0].clean + "\n"));
}

TEST(CircuitRows, MismatchedLengthsAndMultiTokenLabelsNameTheRow) {
  auto tok = testing::CharTokenizer999();
  // "1000" is two tokens (number tokens stop at 999), "4" one.
  std::vector<TaskRow> rows = {kRow, {"LCM(4, 6) =", "LCM(1000, 6) =", "12"}};
  auto r = BuildCircuitBatchRows(*tok, rows);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("row 1"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("LCM(1000, 6) ="), std::string::npos);
  rows = {kRow, {"a", "b", "1234"}};
  r = BuildCircuitBatchRows(*tok, rows);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("row 1: label '1234' encodes to 2 tokens"), std::string::npos)
      << r.status().message();
  rows = {{"a", "", "1"}};
  EXPECT_FALSE(BuildCircuitBatchRows(*tok, rows).ok());
}

}  // namespace
}  // namespace fc::data
