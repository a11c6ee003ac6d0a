#include "worker/finetune/finetune_data.h"

#include <gtest/gtest.h>

#include "tests/worker/finetune/finetune_test_util.h"

namespace fc::finetune {
namespace {

int64_t Labelled(const TrainExample& e) {
  int64_t n = 0;
  for (int64_t l : e.labels) n += l != kIgnoreLabel;
  return n;
}

TEST(BuildTrainExamples, MasksThePromptAndTrainsAnswerPlusOneEosByDefault) {
  auto tok = testing::TinyTokenizer();
  std::vector<data::TaskRow> rows = {{"12+3=", "", "15"}, {"1+1= ", "", "2"}};
  ExampleOptions o;
  o.max_length = 16;
  auto ex = BuildTrainExamples(*tok, rows, o);
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  ASSERT_EQ(ex->size(), 2u);
  // "12+3=\n" is 5 tokens (12 is one number token), answer "15" one token, then one EOS; the
  // trailing pads carry no label and are trimmed away.
  const TrainExample& e = (*ex)[0];
  EXPECT_EQ(e.ids.size(), 7u);
  EXPECT_EQ(Labelled(e), 2);
  EXPECT_EQ(e.labels[5], *tok->TokenToId("15"));
  EXPECT_EQ(e.labels[6], *tok->eos_id());
  for (int t = 0; t < 5; ++t) EXPECT_EQ(e.labels[t], kIgnoreLabel);
  // The trailing space of a prompt is dropped so the input ends with "=" (algorithms.md 6.1).
  EXPECT_EQ((*ex)[1].ids.size(), 7u);  // "1" "+" "1" "=" "\n" "2" EOS
}

TEST(BuildTrainExamples, OriginalLabellingTrainsEveryPadPosition) {
  auto tok = testing::TinyTokenizer();
  std::vector<data::TaskRow> rows = {{"12+3=", "", "15"}};
  ExampleOptions o;
  o.max_length = 16;
  o.label_all_pads = true;
  auto ex = BuildTrainExamples(*tok, rows, o);
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  EXPECT_EQ((*ex)[0].ids.size(), 16u);     // pads are targets, so nothing can be trimmed
  EXPECT_EQ(Labelled((*ex)[0]), 16 - 5);  // answer + every pad/EOS
}

TEST(BuildEvalExamples, PromptEndsWithNewlineAndAnswerIsTheLabelTokens) {
  auto tok = testing::TinyTokenizer();
  auto ev = BuildEvalExamples(*tok, {{"7+8=", "", "15"}});
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ((*ev)[0].prompt, tok->Encode("7+8=\n"));
  EXPECT_EQ((*ev)[0].answer, tok->Encode("15"));
  EXPECT_EQ(BuildEvalExamples(*tok, {{"7+8=", "", ""}}).status().code(), StatusCode::kInvalidArgument);
}

TEST(BuildTrainExamples, PromptTooLongForMaxLengthNamesTheRow) {
  auto tok = testing::TinyTokenizer();
  ExampleOptions o;
  o.max_length = 3;
  auto ex = BuildTrainExamples(*tok, {{"1+1=", "", "2"}, {"12+3=", "", "15"}}, o);
  ASSERT_FALSE(ex.ok());
  EXPECT_NE(ex.status().message().find("training row 0"), std::string::npos) << ex.status().ToString();
}

}  // namespace
}  // namespace fc::finetune
