// `fc-worker run KIND --param k=v --out DIR` with the engine kinds: inputs given as paths,
// result.json written, exit 2 with INVALID_ARGUMENT naming the param for a bad one.
#include <cstdlib>

#include "jobs_test_util.h"

namespace fc::jobs::testing {
namespace {

std::string WorkerBinary() {
#ifdef FC_WORKER_BINARY
  return FC_WORKER_BINARY;
#else
  const char* b = std::getenv("FC_BUILD_DIR");
  return std::string(b ? b : "build") + "/worker/agent/fc-worker";
#endif
}

int Shell(const std::string& cmd) {
  int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST_F(JobsTest, FcWorkerRunsEngineKindsWithPathInputs) {
  ASSERT_TRUE(fs::exists(WorkerBinary())) << WorkerBinary();
  const std::string w = WorkerBinary();
  ASSERT_EQ(Shell(w + " run dataset --param task=add_sub --param max_operand=12 --param size=120 --param seed=3 --out " +
                Dir("data")),
            0);
  nlohmann::json d = ReadJson(Dir("data") + "/result.json");
  EXPECT_EQ(d.at("status"), "OK");
  EXPECT_TRUE(fs::exists(Dir("data") + "/ft.jsonl"));
  ASSERT_EQ(Shell(w + " run train_base --param data=" + Dir("data") + "/ft.jsonl --param layers=1 --param heads=2" +
                " --param d_model=16 --param max_positions=128 --param steps=3 --param batch_size=8 --out " + Dir("base")),
            0);
  ASSERT_EQ(Shell(w + " run discover --param model=" + Dir("base") + "/model --param data=" + Dir("data") +
                " --param ig_steps=2 --param top=10 --out " + Dir("disc")),
            0);
  nlohmann::json r = ReadJson(Dir("disc") + "/result.json");
  EXPECT_EQ(r.at("status"), "OK");
  EXPECT_GT(r.at("result").at("edges").get<int64_t>(), 0);
  EXPECT_LE(r.at("result").at("edges").get<int64_t>(), 10);  // top 10, then pruned

  EXPECT_EQ(Shell(w + " run discover --param model=" + Dir("base") + "/model --param data=" + Dir("data") +
                " --param ig_steps=0 --out " + Dir("bad")),
            2);
  nlohmann::json bad = ReadJson(Dir("bad") + "/result.json");
  EXPECT_EQ(bad.at("status"), "INVALID_ARGUMENT");
  EXPECT_NE(bad.at("error").get<std::string>().find("'ig_steps'"), std::string::npos);
}

}  // namespace
}  // namespace fc::jobs::testing
