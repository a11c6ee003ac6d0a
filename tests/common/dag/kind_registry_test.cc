#include "common/dag/kind_registry.h"

#include <gtest/gtest.h>

#include "common/dag/parser.h"

namespace fc::dag {
namespace {

TEST(KindRegistry, DefaultHasSleepFailAndEveryScienceKind) {
  const KindRegistry& r = KindRegistry::Default();
  for (const char* k : {"sleep", "fail", "dataset", "train_base", "model", "discover", "finetune",
                        "reextract", "circuit_lora_plan", "merge", "robustness", "evaluate"}) {
    EXPECT_NE(r.Find(k), nullptr) << k;
  }
  EXPECT_EQ(r.Find("nope"), nullptr);
  const ParamSpec* seconds = r.Find("sleep")->FindParam("seconds");
  ASSERT_NE(seconds, nullptr);
  EXPECT_EQ(seconds->type, ParamType::kFloat);
  EXPECT_EQ(seconds->default_value.get<double>(), 1.0);
  EXPECT_EQ(*seconds->min, 0.0);
}

TEST(KindRegistry, DuplicateKindIsRejected) {
  KindRegistry r;
  ASSERT_TRUE(r.Register({"k", "", {}, {}, nullptr}).ok());
  Status s = r.Register({"k", "", {}, {}, nullptr});
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(s.message().find("'k'"), std::string::npos);
}

TEST(KindRegistry, DuplicateParameterIsRejected) {
  KindRegistry r;
  ParamSpec p;
  p.name = "x";
  Status s = r.Register({"k", "", {p, p}, {}, nullptr});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'x' declared twice"), std::string::npos);
}

// A new kind is added by registration alone; the parser validates it with no other change.
TEST(KindRegistry, NewlyRegisteredKindIsValidatedByTheParser) {
  KindRegistry r;
  ParamSpec n;
  n.name = "n";
  n.type = ParamType::kInt;
  n.required = true;
  n.min = 1;
  n.max = 10;
  ASSERT_TRUE(r.Register({"count", "", {n}, {}, nullptr}).ok());
  auto ok = ParseExperiment("experiment: e\njobs:\n  a: {kind: count, n: 3}\n", "", r);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->jobs[0].params["n"].get<int64_t>(), 3);
  auto bad = ParseExperiment("experiment: e\njobs:\n  a: {kind: count, n: 11}\n", "", r);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("job 'a' field 'n' (line 3): must be in [1, 10], got 11"),
            std::string::npos)
      << bad.status().message();
  auto sleep = ParseExperiment("experiment: e\njobs:\n  a: {kind: sleep}\n", "", r);
  EXPECT_FALSE(sleep.ok());  // not in this registry
}

}  // namespace
}  // namespace fc::dag
