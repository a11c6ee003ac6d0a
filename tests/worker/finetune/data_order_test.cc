#include "worker/finetune/data_order.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace fc::finetune {
namespace {

TEST(DataOrder, EachEpochIsAPermutationAndEpochsDiffer) {
  auto o = DataOrder::Create(10, 42);
  ASSERT_TRUE(o.ok());
  auto p0 = o->Permutation(0), p1 = o->Permutation(1);
  auto s0 = p0;
  std::sort(s0.begin(), s0.end());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s0[i], i);
  EXPECT_NE(p0, p1);
  EXPECT_EQ(p0, DataOrder::Create(10, 42)->Permutation(0));
  EXPECT_NE(p0, DataOrder::Create(10, 43)->Permutation(0));
}

TEST(DataOrder, BatchesFollowThePermutationAndKeepTheLastPartialBatch) {
  auto o = DataOrder::Create(10, 7);
  ASSERT_TRUE(o.ok());
  auto p0 = o->Permutation(0);
  auto b1 = o->NextBatch(4), b2 = o->NextBatch(4), b3 = o->NextBatch(4);
  EXPECT_EQ(b1, std::vector<int64_t>(p0.begin(), p0.begin() + 4));
  EXPECT_EQ(b3.size(), 2u);
  auto b4 = o->NextBatch(4);
  EXPECT_EQ(o->cursor().epoch, 1);
  auto p1 = o->Permutation(1);
  EXPECT_EQ(b4, std::vector<int64_t>(p1.begin(), p1.begin() + 4));
}

TEST(DataOrder, CursorRestoresTheSameContinuation) {
  auto a = DataOrder::Create(9, 3);
  ASSERT_TRUE(a.ok());
  for (int i = 0; i < 5; ++i) a->NextBatch(4);
  DataCursor saved = a->cursor();
  auto expected = a->NextBatch(4);
  auto b = DataOrder::Create(9, 3);
  ASSERT_TRUE(b->SetCursor(saved).ok());
  EXPECT_EQ(b->NextBatch(4), expected);
  EXPECT_EQ(b->SetCursor(DataCursor{0, 10}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DataOrder::Create(0, 1).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fc::finetune
