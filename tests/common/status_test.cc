#include "common/status.h"

#include <gtest/gtest.h>

namespace fc {
namespace {

StatusOr<int> ParsePositive(int v) {
  if (v <= 0) return InvalidArgumentError("field 'n': must be > 0, got {}", v);
  return v;
}

Status UsesMacros(int v, int* out) {
  FC_ASSIGN_OR_RETURN(*out, ParsePositive(v));
  FC_RETURN_IF_ERROR(Status::OK());
  return Status::OK();
}

TEST(Status, FactoriesCarryCodeAndFormattedMessage) {
  Status s = NotFoundError("job '{}' not found", "abc");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ToString(), "NOT_FOUND: job 'abc' not found");
  EXPECT_EQ(static_cast<int>(StatusCode::kDataLoss), 15);  // gRPC numbering
}

TEST(Status, MacrosPropagateErrorsAndValues) {
  int out = 0;
  EXPECT_TRUE(UsesMacros(7, &out).ok());
  EXPECT_EQ(out, 7);
  Status s = UsesMacros(-1, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("got -1"), std::string::npos);
  EXPECT_EQ(s.WithContext("dag.yaml").message().rfind("dag.yaml: ", 0), 0u);
}

}  // namespace
}  // namespace fc
