#include "worker/agent/executor_registry.h"

#include <gtest/gtest.h>

#include "worker/agent/builtin_executors.h"

namespace fc::agent {
namespace {

class EchoExecutor : public Executor {
 public:
  Status Run(JobContext& ctx) override {
    ctx.SetResult(ctx.params());
    return Status::OK();
  }
};

TEST(ExecutorRegistry, CreatesTheRegisteredKindAndListsKindsSorted) {
  ExecutorRegistry r;
  ASSERT_TRUE(RegisterBuiltinExecutors(&r).ok());
  ASSERT_TRUE(r.Register("echo", [] { return std::make_unique<EchoExecutor>(); }).ok());
  EXPECT_EQ(r.Kinds(), (std::vector<std::string>{"echo", "fail", "sleep"}));
  auto e = r.Create("echo");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  JobContext ctx("e/x", "echo", {{"a", 1}}, {}, "/tmp", "cpu", nullptr, nullptr);
  ASSERT_TRUE((*e)->Run(ctx).ok());
  EXPECT_EQ(ctx.result(), nlohmann::json({{"a", 1}}));
}

TEST(ExecutorRegistry, UnknownKindIsUnimplementedAndNamesKnownKinds) {
  ExecutorRegistry r;
  ASSERT_TRUE(RegisterBuiltinExecutors(&r).ok());
  auto e = r.Create("discover");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(e.status().message().find("'discover'"), std::string::npos);
  EXPECT_NE(e.status().message().find("fail, sleep"), std::string::npos);
  EXPECT_TRUE(IsPermanentFailure(e.status().code()));
}

TEST(ExecutorRegistry, DuplicateAndEmptyKindsAreRejected) {
  ExecutorRegistry r;
  ASSERT_TRUE(RegisterBuiltinExecutors(&r).ok());
  Status dup = RegisterBuiltinExecutors(&r);
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(dup.message().find("sleep"), std::string::npos);
  EXPECT_EQ(r.Register("", [] { return std::make_unique<EchoExecutor>(); }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Register("nofactory", nullptr).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fc::agent
