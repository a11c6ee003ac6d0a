// MakeDataset / WriteDatasetDir / ReadDatasetDir: paper split sizes, files that read back, and
// subtask splits that stay line-aligned with the compositional split.
#include <gtest/gtest.h>

#include "tests/worker/data/test_tokenizers.h"
#include "worker/data/dataset.h"

namespace fc::data {
namespace {

TEST(Dataset, AddSub100UsesThePaperSplitAndRoundTripsThroughFiles) {
  auto tok = testing::CharTokenizer999();
  auto split = MakeDataset({{Task::kAddSub, 0, 42, 100}, std::nullopt, 42}, *tok);
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  EXPECT_EQ(split->finetune.size(), 4500u);
  EXPECT_EQ(split->circuit.size(), 500u);
  const auto dir = testing::TempDir("dataset") / "addsub";
  ASSERT_TRUE(WriteDatasetDir(dir.string(), *split).ok());
  auto back = ReadDatasetDir(dir.string());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->finetune, split->finetune);
  EXPECT_EQ(back->circuit, split->circuit);
  std::filesystem::remove_all(dir.parent_path());
  auto missing = ReadDatasetDir(dir.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(Dataset, SubtaskSplitsAreLineAlignedWithTheCompositionalSplit) {
  auto tok = testing::CharTokenizer999();
  DatasetSpec comp{{Task::kCompositional, 500, 11}, std::nullopt, 42};
  DatasetSpec add = comp, mul = comp;
  add.task.task = Task::kCompositionalAddSub;
  mul.task.task = Task::kCompositionalMulDiv;
  auto c = MakeDataset(comp, *tok), a = MakeDataset(add, *tok), m = MakeDataset(mul, *tok);
  ASSERT_TRUE(c.ok() && a.ok() && m.ok());
  EXPECT_EQ(c->circuit.size(), 100u);  // 0.2
  auto from_split = DeriveCompositionalSubtask(c->circuit, Subtask::kAddSub, *tok);
  ASSERT_TRUE(from_split.ok());
  EXPECT_EQ(*from_split, a->circuit);
  auto mul_from_split = DeriveCompositionalSubtask(c->finetune, Subtask::kMulDiv, *tok);
  ASSERT_TRUE(mul_from_split.ok());
  EXPECT_EQ(*mul_from_split, m->finetune);
}

}  // namespace
}  // namespace fc::data
