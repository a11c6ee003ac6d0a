#include "worker/finetune/adapter_config.h"

#include <gtest/gtest.h>

#include "tests/worker/finetune/finetune_test_util.h"

namespace fc::finetune {
namespace {

TEST(AdapterConfig, WrittenConfigReadsBackIdentically) {
  testing::TempDir dir;
  AdapterConfig c;
  c.base_model_name_or_path = "/models/base";
  c.r = 8;
  c.lora_alpha = 16;
  c.lora_dropout = 0.05;
  c.target_modules = {"dense", "query_key_value"};
  c.rank_pattern = {{"layers.0.attention.dense", 32}};
  c.alpha_pattern = {{"layers.0.attention.dense", 64}};
  ASSERT_TRUE(WriteAdapterConfig(c, dir.path()).ok());
  auto back = ReadAdapterConfig(dir.path());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->base_model_name_or_path, "/models/base");
  EXPECT_EQ(back->r, 8);
  EXPECT_EQ(back->lora_alpha, 16);
  EXPECT_EQ(back->lora_dropout, 0.05);
  EXPECT_EQ(back->target_modules, c.target_modules);
  EXPECT_EQ(back->rank_pattern, c.rank_pattern);
  EXPECT_EQ(back->alpha_pattern, c.alpha_pattern);
  // The keys peft requires are all present with peft's values.
  nlohmann::json j = AdapterConfigToJson(*back);
  EXPECT_EQ(j["peft_type"], "LORA");
  EXPECT_EQ(j["task_type"], "CAUSAL_LM");
  EXPECT_EQ(j["bias"], "none");
  EXPECT_EQ(j["use_rslora"], false);
  EXPECT_TRUE(j["modules_to_save"].is_null());
  EXPECT_EQ(j["inference_mode"], true);
  EXPECT_EQ(j, AdapterConfigToJson(c));
}

TEST(AdapterConfig, ReadsPeft06StyleWithListTargetsAndMissingOptionalKeys) {
  // peft 0.6-ish: no rank_pattern/alpha_pattern/use_rslora, extra keys of its own.
  auto c = ParseAdapterConfig(R"({"peft_type":"LORA","task_type":"CAUSAL_LM","r":32,"lora_alpha":64,
      "lora_dropout":0.0,"target_modules":["query_key_value","dense"],"fan_in_fan_out":false,
      "bias":"none","base_model_name_or_path":"EleutherAI/pythia-1.4b-deduped","inference_mode":true,
      "init_lora_weights":true,"layers_pattern":null,"layers_to_transform":null,"modules_to_save":null,
      "revision":null,"auto_mapping":null})", "v06.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->Targets("gpt_neox.layers.3.attention.dense"));
  EXPECT_TRUE(c->Targets("gpt_neox.layers.3.attention.query_key_value"));
  EXPECT_FALSE(c->Targets("gpt_neox.layers.3.mlp.dense_h_to_4h"));  // suffix must follow a dot
  EXPECT_DOUBLE_EQ(c->ScaleFor("gpt_neox.layers.3.attention.dense"), 2.0);
  EXPECT_TRUE(c->extra.contains("auto_mapping"));
}

TEST(AdapterConfig, ReadsRegexStringTargetsAndNewerKeys) {
  // peft >= 0.10 style: target_modules as one regex string, use_dora/layer_replication etc.
  auto c = ParseAdapterConfig(R"j({"peft_type":"LORA","r":4,"lora_alpha":8,
      "target_modules":".*\\.(c_attn|c_fc)","use_dora":false,"layer_replication":null,
      "megatron_config":null,"loftq_config":{},"use_rslora":false})j", "v10.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->Targets("transformer.h.0.attn.c_attn"));
  EXPECT_TRUE(c->Targets("transformer.h.1.mlp.c_fc"));
  EXPECT_FALSE(c->Targets("transformer.h.1.mlp.c_proj"));
  // Unknown keys survive a round trip.
  nlohmann::json j = AdapterConfigToJson(*c);
  EXPECT_EQ(j["use_dora"], false);
  EXPECT_EQ(j["target_modules"], ".*\\.(c_attn|c_fc)");
}

TEST(AdapterConfig, MinimalConfigGetsPeftDefaults) {
  auto c = ParseAdapterConfig(R"({"target_modules":["dense"]})", "minimal.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->r, 8);
  EXPECT_EQ(c->lora_alpha, 8);
  EXPECT_EQ(c->lora_dropout, 0.0);
  EXPECT_FALSE(c->fan_in_fan_out);
}

TEST(AdapterConfig, RankAndAlphaPatternsResolvePerModule) {
  auto c = ParseAdapterConfig(R"({"r":8,"lora_alpha":16,"target_modules":["dense"],
      "rank_pattern":{"layers.1.attention.dense":32,"gpt_neox.layers.2.attention.dense":4},
      "alpha_pattern":{"layers.1.attention.dense":128}})", "p.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->RankFor("gpt_neox.layers.1.attention.dense"), 32);
  EXPECT_EQ(c->RankFor("gpt_neox.layers.11.attention.dense"), 8);  // not a suffix match
  EXPECT_EQ(c->RankFor("gpt_neox.layers.2.attention.dense"), 4);   // exact full name
  EXPECT_EQ(c->RankFor("gpt_neox.layers.0.attention.dense"), 8);
  EXPECT_DOUBLE_EQ(c->ScaleFor("gpt_neox.layers.1.attention.dense"), 128.0 / 32.0);
  EXPECT_DOUBLE_EQ(c->ScaleFor("gpt_neox.layers.2.attention.dense"), 16.0 / 4.0);
  EXPECT_DOUBLE_EQ(c->ScaleFor("gpt_neox.layers.0.attention.dense"), 2.0);
}

TEST(AdapterConfig, RsloraScalesBySqrtRank) {
  auto c = ParseAdapterConfig(R"({"r":16,"lora_alpha":8,"target_modules":["dense"],"use_rslora":true})", "rs.json");
  ASSERT_TRUE(c.ok());
  EXPECT_DOUBLE_EQ(c->ScaleFor("x.dense"), 2.0);
}

TEST(AdapterConfig, BadInputNamesFileAndField) {
  struct Case {
    const char* json;
    const char* field;
  } cases[] = {
      {R"({"peft_type":"IA3","target_modules":["dense"]})", "peft_type"},
      {R"({"r":0,"target_modules":["dense"]})", "'r'"},
      {R"({"r":"8","target_modules":["dense"]})", "'r'"},
      {R"({"lora_dropout":1.5,"target_modules":["dense"]})", "lora_dropout"},
      {R"({"bias":"all","target_modules":["dense"]})", "bias"},
      {R"({"modules_to_save":["embed_out"],"target_modules":["dense"]})", "modules_to_save"},
      {R"({"target_modules":[]})", "target_modules"},
      {R"({"target_modules":["dense"],"rank_pattern":{"x":0}})", "rank_pattern.x"},
      {R"j({"target_modules":"(unclosed"})j", "target_modules"},
  };
  for (const auto& k : cases) {
    auto c = ParseAdapterConfig(k.json, "cfg/adapter_config.json");
    ASSERT_FALSE(c.ok()) << k.json;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find("cfg/adapter_config.json"), std::string::npos) << c.status().ToString();
    EXPECT_NE(c.status().message().find(k.field), std::string::npos) << c.status().ToString();
  }
  EXPECT_EQ(ParseAdapterConfig("{not json", "x.json").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadAdapterConfig("/nonexistent/dir").status().code(), StatusCode::kNotFound);
}

TEST(AdapterConfig, PatternKeyDropsTheTopLevelComponent) {
  EXPECT_EQ(PatternKeyFor("gpt_neox.layers.3.attention.dense"), "layers.3.attention.dense");
  EXPECT_EQ(PatternKeyFor("transformer.h.0.attn.c_attn"), "h.0.attn.c_attn");
}

}  // namespace
}  // namespace fc::finetune
