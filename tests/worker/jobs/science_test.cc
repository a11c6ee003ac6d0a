// The quickstart's science on a tiny budget (examples/quickstart.yaml in miniature): a base model
// pre-trained only on the additions of an add/sub split is weak on add/sub; LoRA fine-tuning on
// the full split raises its accuracy on held-out rows (the circuit split, seen by no training
// job) and lowers the held-out loss. Also: discover's ft_nobos prompts are exactly the prompts
// evaluate decodes from (same clean accuracy), and train_base's only_operator filter errors
// name the param. Nothing here is a recorded number: every comparison is between two runs.
#include "jobs_test_util.h"
#include "worker/data/row_io.h"

namespace fc::jobs::testing {
namespace {

class ScienceTest : public JobsTest {
 protected:
  // Add/sub within 25, bare prompts; 480 fine-tune rows, 120 held-out circuit rows.
  void MakeData() {
    data_ = RunKind("dataset", {{"task", "add_sub"}, {"max_operand", 25}, {"size", 600}, {"prefix", false},
                                {"circuit_fraction", 0.2}, {"seed", 42}},
                    Dir("data"));
    ASSERT_TRUE(data_.status.ok()) << data_.status.ToString();
  }
  nlohmann::json BaseParams() const {
    return {{"data", data_.Output("ft")}, {"only_operator", "+"}, {"layers", 2}, {"heads", 4}, {"d_model", 64},
            {"max_positions", 16}, {"steps", 500}, {"batch_size", 32}, {"lr", 5e-3}};
  }
  double Accuracy(const std::string& model, const std::string& name) {
    Ran e = RunKind("evaluate", {{"model", model}, {"data", data_.Output("circuit")}}, Dir(name));
    EXPECT_TRUE(e.status.ok()) << e.status.ToString();
    return e.status.ok() ? e.result.at("accuracy").get<double>() : -1;
  }
};

TEST_F(ScienceTest, LoraOnTheTaskRaisesHeldOutAccuracyOfABaseThatOnlyLearnedAddition) {
  MakeData();
  ASSERT_EQ(data_.result.at("prefix"), false);
  auto ft_rows = data::ReadRows(data_.Output("ft"));
  ASSERT_TRUE(ft_rows.ok()) << ft_rows.status().ToString();
  for (const auto& row : *ft_rows) {
    ASSERT_EQ(row.clean.find("Calculate"), std::string::npos) << row.clean;
  }
  base_ = RunKind("train_base", BaseParams(), Dir("base"));
  ASSERT_TRUE(base_.status.ok()) << base_.status.ToString();
  const double base_acc = Accuracy(base_.Output("model"), "eval_base");

  Ran lora = RunKind("finetune",
                     {{"model", base_.Output("model")}, {"data", data_.Output("ft")},
                      {"eval_data", data_.Output("circuit")}, {"method", "lora"}, {"rank", 8}, {"alpha", 16.0},
                      {"lr", 2e-2}, {"steps", 500}, {"batch_size", 32}, {"grad_accum", 1}, {"warmup", 10},
                      {"checkpoint_every", 0}, {"max_length", 12}},
                     Dir("lora"));
  ASSERT_TRUE(lora.status.ok()) << lora.status.ToString();
  const double lora_acc = Accuracy(lora.Output("model"), "eval_lora");

  // The base never saw a subtraction: fine-tuning must teach it something that generalises to
  // held-out rows, by a margin well above one row of 120.
  EXPECT_GT(lora_acc, base_acc + 0.05) << "base " << base_acc << " lora " << lora_acc;
  // The held-out loss of the first checkpoint (the base) is above the last one's.
  const auto& ckpts = lora.result.at("checkpoints");
  ASSERT_GE(ckpts.size(), 2u);
  EXPECT_EQ(ckpts.front().at("step"), 0);
  EXPECT_GT(ckpts.front().at("loss").get<double>(), ckpts.back().at("loss").get<double>());
  EXPECT_NEAR(ckpts.back().at("accuracy").get<double>(), lora_acc, 1e-9);

  // discover in the fine-tuning format without BOS scores exactly the prompts evaluate decodes
  // from: its clean top-1 accuracy (the answer token comes first) is at least evaluate's exact
  // match, which also needs the model to stop after it; the two agree up to a few rows.
  Ran d = RunKind("discover",
                  {{"model", base_.Output("model")}, {"data", data_.Output("circuit")}, {"ig_steps", 2},
                   {"top", "30%"}, {"batch_size", 60}, {"prompt_format", "ft_nobos"}},
                  Dir("before"));
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  const double clean = d.result.at("accuracy").at("clean").get<double>();
  EXPECT_GE(clean, base_acc - 1e-9);
  EXPECT_LE(clean, base_acc + 0.05);
  EXPECT_EQ(d.result.at("prompt").at("bos"), false);
  EXPECT_EQ(d.result.at("prompt").at("newline"), true);
}

TEST_F(ScienceTest, OnlyOperatorThatMatchesNoRowIsAnErrorNamingTheParam) {
  data_ = RunKind("dataset", {{"task", "add_sub"}, {"max_operand", 10}, {"size", 40}, {"operators", "+"},
                              {"prefix", false}, {"circuit_fraction", 0.2}},
                  Dir("data"));
  ASSERT_TRUE(data_.status.ok()) << data_.status.ToString();
  nlohmann::json p = BaseParams();
  p["only_operator"] = "-";
  p["steps"] = 1;
  Ran r = RunKind("train_base", p, Dir("base"));
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("only_operator"), std::string::npos) << r.status.ToString();

  p["only_operator"] = "*";
  r = RunKind("train_base", p, Dir("base2"));
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status.message().find("only_operator"), std::string::npos) << r.status.ToString();
}

TEST_F(ScienceTest, DatasetRecordsOperatorsAndPrefixAndRejectsOperatorsOutsideAddSub) {
  Ran plus = RunKind("dataset", {{"task", "add_sub"}, {"max_operand", 10}, {"size", 40}, {"operators", "+"},
                                 {"prefix", false}, {"circuit_fraction", 0.2}},
                     Dir("plus"));
  ASSERT_TRUE(plus.status.ok()) << plus.status.ToString();
  nlohmann::json meta = ReadJson(plus.out + "/dataset.json");
  EXPECT_EQ(meta.at("operators"), "+");
  EXPECT_EQ(meta.at("prefix"), false);
  auto rows = data::ReadRows(plus.Output("circuit"));
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  for (const auto& r : *rows) EXPECT_NE(r.clean.find(" + "), std::string::npos) << r.clean;

  Ran bad = RunKind("dataset", {{"task", "mul_div"}, {"size", 10}, {"operators", "+"}}, Dir("bad"));
  ASSERT_FALSE(bad.status.ok());
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status.message().find("operators"), std::string::npos) << bad.status.ToString();
}

}  // namespace
}  // namespace fc::jobs::testing
