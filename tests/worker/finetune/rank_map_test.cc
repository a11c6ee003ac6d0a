#include "worker/finetune/rank_map.h"

#include <gtest/gtest.h>

namespace fc::finetune {
namespace {

TEST(RankMap, ParsesAndConvertsToAPeftConfigWithPatterns) {
  auto m = ParseRankMap(R"({"modules":{
      "gpt_neox.layers.0.attention.dense":{"r":32,"alpha":64,"critical":true},
      "gpt_neox.layers.1.attention.dense":{"r":8,"alpha":16,"critical":false},
      "gpt_neox.layers.2.attention.dense":{"r":8,"alpha":16}},
      "lr_critical":6e-4,"lr_other":3e-4,"critical_layers":[0],"extra":"ignored"})", "plan.json");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->CriticalModules(), std::vector<std::string>{"gpt_neox.layers.0.attention.dense"});
  EXPECT_DOUBLE_EQ(m->lr_critical, 6e-4);
  AdapterConfig c = m->ToAdapterConfig(0.0, "base");
  EXPECT_EQ(c.r, 8);
  EXPECT_EQ(c.lora_alpha, 16);
  EXPECT_EQ(c.RankFor("gpt_neox.layers.0.attention.dense"), 32);
  EXPECT_DOUBLE_EQ(c.ScaleFor("gpt_neox.layers.0.attention.dense"), 2.0);
  EXPECT_EQ(c.RankFor("gpt_neox.layers.2.attention.dense"), 8);
  EXPECT_TRUE(c.Targets("gpt_neox.layers.1.attention.dense"));
  EXPECT_FALSE(c.Targets("gpt_neox.layers.1.mlp.dense_h_to_4h"));
  auto again = ParseRankMap(RankMapToJson(*m), "round trip");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->modules.size(), 3u);
  EXPECT_EQ(again->critical_layers, std::vector<int64_t>{0});
}

TEST(RankMap, BadEntriesNameTheModuleAndField) {
  auto r = ParseRankMap(R"({"modules":{"m.x":{"r":0}},"lr_critical":1e-3,"lr_other":1e-3})", "plan.json");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("m.x"), std::string::npos);
  EXPECT_NE(r.status().message().find("'r'"), std::string::npos);
  auto lr = ParseRankMap(R"({"modules":{"m.x":{"r":2}},"lr_other":1e-3})", "plan.json");
  EXPECT_NE(lr.status().message().find("lr_critical"), std::string::npos);
  EXPECT_EQ(ParseRankMap(R"({"modules":{}})", "p").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fc::finetune
