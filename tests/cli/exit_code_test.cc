#include "cli/exit_code.h"

#include <gtest/gtest.h>

namespace fc::cli {
namespace {

TEST(ExitCode, MapsStatusCodesToTheDocumentedExitCodes) {
  EXPECT_EQ(ExitCodeFor(Status::OK()), 0);
  EXPECT_EQ(ExitCodeFor(InvalidArgumentError("job 'a' field 'seconds' (line 3): bad")), 2);
  EXPECT_EQ(ExitCodeFor(UnavailableError("connection refused")), 3);
  EXPECT_EQ(ExitCodeFor(NotFoundError("experiment 'x'")), 4);
  EXPECT_EQ(ExitCodeFor(FailedPreconditionError("job is running")), 1);
  EXPECT_EQ(ExitCodeFor(InternalError("bug")), 1);
}

TEST(ExitCode, UnreachableMessageNamesTheAddress) {
  std::string m = ErrorMessage(UnavailableError("refused"), "127.0.0.1:9");
  EXPECT_NE(m.find("cannot reach the coordinator at 127.0.0.1:9"), std::string::npos) << m;
  EXPECT_NE(m.find("refused"), std::string::npos);
}

TEST(ExitCode, BadInputMessageKeepsTheServersText) {
  std::string server = "smoke.yaml: job 'b' field 'seconds' (line 4): must be a number";
  EXPECT_NE(ErrorMessage(InvalidArgumentError("{}", server), "x").find(server), std::string::npos);
}

}  // namespace
}  // namespace fc::cli
