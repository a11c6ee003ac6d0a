// docker-compose.yml at the repo root is valid: Debian's docker-compose parses and validates it
// (`config` needs no Docker engine). Skipped, with the reason, only when the binary is absent.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "tests/integration/subprocess.h"

namespace fc::itest {
namespace {

TEST(Deploy, DockerComposeFileValidates) {
  // FC_SOURCE_DIR from the environment when set, else the source dir this test was built from.
  const char* src = std::getenv("FC_SOURCE_DIR");
  if (src == nullptr || *src == '\0') src = FC_TEST_SOURCE_DIR;
  const std::string compose = "/usr/bin/docker-compose";
  if (access(compose.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "docker-compose is not installed (OPTIONAL in deploy/install-deps.sh)";
  }
  const std::string file = std::string(src) + "/docker-compose.yml";
  CommandResult r = RunCommand({compose, "-f", file, "config"}, std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The services and volumes the operations guide promises.
  for (const char* want : {"coordinator:", "worker-1:", "worker-2:", "fc-db:", "fc-artifacts:", "healthcheck:"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  }
}

}  // namespace
}  // namespace fc::itest
