#include "worker/attribution/batch.h"

#include <gtest/gtest.h>

#include "worker/attribution/ig_schedule.h"

namespace fc::attribution {
namespace {

TEST(Batch, RightPadsAndSplitsIntoBatches) {
  std::vector<TokenizedRow> rows = {
      {{0, 5, 6}, {0, 7, 6}, 9, 8},
      {{0, 5}, {0, 4}, 3, 2},
      {{0, 1, 2, 3}, {0, 1, 2, 4}, 1, 1},
  };
  auto batches = MakeBatches(rows, 2, /*pad_id=*/11);
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  ASSERT_EQ(batches->size(), 2u);
  const Batch& b0 = (*batches)[0];
  EXPECT_EQ(b0.clean_ids.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(b0.clean_ids[1][2].item<int64_t>(), 11);
  EXPECT_EQ(b0.corrupted_ids[0][1].item<int64_t>(), 7);
  EXPECT_EQ(b0.lengths[1].item<int64_t>(), 2);
  EXPECT_EQ(b0.labels[0].item<int64_t>(), 9);
  EXPECT_EQ(b0.incorrect[1].item<int64_t>(), 2);
  EXPECT_EQ((*batches)[1].first_row, 2);
  EXPECT_EQ((*batches)[1].clean_ids.size(1), 4);
  EXPECT_EQ(CountRows(*batches), 3);
}

TEST(Batch, LengthMismatchErrorNamesTheRow) {
  std::vector<TokenizedRow> rows = {{{0, 1}, {0, 2}, 1, 2}, {{0, 1, 2}, {0, 1}, 1, 2}};
  auto batches = MakeBatches(rows, 8, 0);
  ASSERT_FALSE(batches.ok());
  EXPECT_EQ(batches.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(batches.status().message().find("row 1"), std::string::npos)
      << batches.status().message();
  EXPECT_NE(batches.status().message().find("equal token length"), std::string::npos);
}

TEST(Batch, RejectsEmptyRowsAndBadParameters) {
  EXPECT_FALSE(MakeBatches({{{}, {}, 0, 0}}, 2, 0).ok());
  EXPECT_FALSE(MakeBatches({{{1}, {1}, 0, 0}}, 0, 0).ok());
  EXPECT_FALSE(MakeBatches({}, 2, 0).ok());
}

TEST(IgSchedule, EndpointsFollowThePaperAndTheNewLibrary) {
  auto right = IgAlphas(4, IgEndpoint::kRight);
  auto left = IgAlphas(4, IgEndpoint::kLeft);
  auto mid = IgAlphas(4, IgEndpoint::kMidpoint);
  ASSERT_TRUE(right.ok() && left.ok() && mid.ok());
  EXPECT_EQ(*right, (std::vector<double>{0.25, 0.5, 0.75, 1.0}));
  EXPECT_EQ(*left, (std::vector<double>{0.0, 0.25, 0.5, 0.75}));
  EXPECT_EQ(*mid, (std::vector<double>{0.125, 0.375, 0.625, 0.875}));
  EXPECT_FALSE(IgAlphas(0, IgEndpoint::kRight).ok());
  EXPECT_EQ(*ParseIgEndpoint("left"), IgEndpoint::kLeft);
  EXPECT_FALSE(ParseIgEndpoint("centre").ok());
}

}  // namespace
}  // namespace fc::attribution
