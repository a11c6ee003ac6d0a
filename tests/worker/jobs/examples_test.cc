// Every experiment in examples/ must be a valid DAG for the coordinator: parsed and validated by
// common/dag exactly as a submission is (kinds, params, references, cycles).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/dag/parser.h"

namespace fc::dag {
namespace {

std::filesystem::path ExamplesDir() {
  const char* src = std::getenv("FC_SOURCE_DIR");
  return std::filesystem::path(src ? src : ".") / "examples";
}

TEST(ExamplesTest, EveryExampleParsesWithCommonDag) {
  int seen = 0;
  for (const auto& e : std::filesystem::directory_iterator(ExamplesDir())) {
    if (e.path().extension() != ".yaml") continue;
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    auto spec = ParseExperiment(ss.str(), e.path().filename().string());
    EXPECT_TRUE(spec.ok()) << e.path() << ": " << spec.status().ToString();
    if (spec.ok()) EXPECT_FALSE(spec->jobs.empty()) << e.path();
    ++seen;
  }
  // quickstart, smoke and the paper setups.
  EXPECT_GE(seen, 5);
}

TEST(ExamplesTest, QuickstartHasThePipelineStages) {
  std::ifstream in(ExamplesDir() / "quickstart.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  auto spec = ParseExperiment(ss.str(), "quickstart.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  std::map<std::string, int> kinds;
  for (const auto& j : spec->jobs) ++kinds[j.kind];
  for (const char* k : {"dataset", "train_base", "discover", "finetune", "reextract", "circuit_lora_plan", "evaluate"}) {
    EXPECT_GE(kinds[k], 1) << k;
  }
  EXPECT_GE(kinds["finetune"], 2);  // LoRA and CircuitLoRA
  EXPECT_GE(kinds["evaluate"], 2);  // both evaluated
}

}  // namespace
}  // namespace fc::dag
