#include "worker/collective/local_collective.h"

#include <gtest/gtest.h>

#include "worker/collective/make_collective.h"

namespace fc::collective {
namespace {

TEST(LocalCollective, IsRankZeroOfWorldOne) {
  auto c = MakeLocalCollective();
  EXPECT_EQ(c->rank(), 0);
  EXPECT_EQ(c->world_size(), 1);
  EXPECT_EQ(c->name(), "local");
}

TEST(LocalCollective, AllReduceSumAndMeanKeepValuesInPlace) {
  auto c = MakeLocalCollective();
  torch::manual_seed(3);
  std::vector<torch::Tensor> ts = {torch::randn({3, 4}), torch::randn({5})};
  std::vector<torch::Tensor> before = {ts[0].clone(), ts[1].clone()};
  const void* ptr = ts[0].data_ptr();
  ASSERT_TRUE(c->AllReduceSum(ts).ok());
  ASSERT_TRUE(c->AllReduceMean(ts).ok());
  EXPECT_EQ(ts[0].data_ptr(), ptr);
  EXPECT_TRUE(torch::equal(ts[0], before[0]));
  EXPECT_TRUE(torch::equal(ts[1], before[1]));
}

TEST(LocalCollective, MeanRejectsIntegerTensorsNamingTheIndex) {
  auto c = MakeLocalCollective();
  std::vector<torch::Tensor> ts = {torch::zeros({2}), torch::zeros({2}, torch::kInt64)};
  Status s = c->AllReduceMean(ts);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tensor 1"), std::string::npos) << s.ToString();
}

TEST(LocalCollective, UndefinedTensorAndBadRootAreErrors) {
  auto c = MakeLocalCollective();
  std::vector<torch::Tensor> ts = {torch::Tensor()};
  EXPECT_EQ(c->AllReduceSum(ts).code(), StatusCode::kInvalidArgument);
  std::vector<torch::Tensor> ok = {torch::ones({2})};
  EXPECT_TRUE(c->Broadcast(ok, 0).ok());
  EXPECT_EQ(c->Broadcast(ok, 1).code(), StatusCode::kInvalidArgument);
}

TEST(MakeCollective, WorldOneIsLocalAndLargerNeedsNccl) {
  auto one = MakeCollective(CollectiveOptions{});
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ((*one)->name(), "local");
  CollectiveOptions two;
  two.world_size = 2;
  two.rank = 1;
  two.id_file = "/nonexistent/fc-nccl-id";
  auto r = MakeCollective(two);
  if (!NcclCompiledIn()) {
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(r.status().message().find("NCCL"), std::string::npos);
  }
  CollectiveOptions bad;
  bad.world_size = 2;
  bad.rank = 2;
  EXPECT_EQ(MakeCollective(bad).status().code(), StatusCode::kInvalidArgument);
}

TEST(DefinedGrads, ReturnsOnlyDefinedGradientsInOrder) {
  auto a = torch::ones({2}, torch::requires_grad());
  auto b = torch::ones({3}, torch::requires_grad());
  auto c = torch::ones({4}, torch::requires_grad());
  (a.sum() * 2 + c.sum() * 3).backward();
  auto g = DefinedGrads({a, b, c});
  ASSERT_EQ(g.size(), 2u);
  EXPECT_TRUE(torch::equal(g[0], torch::full({2}, 2.0)));
  EXPECT_TRUE(torch::equal(g[1], torch::full({4}, 3.0)));
}

}  // namespace
}  // namespace fc::collective
