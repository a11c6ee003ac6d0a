// Issue #5's "Compositional" analysis end to end on a tiny model, through the job kinds:
// dataset (compositional + its line-aligned add_sub / mul_div subtasks) -> train_base ->
// discover on each subtask and on the composite -> union of the subtask circuits cut to the
// composite's collapsed edge count -> short LoRA on the composite and discover after it ->
// circuit_lora_plan with the union (plan A) and with the composite (plan B) as base circuit ->
// circuit_lora fine-tuning with each plan -> evaluate both.
#include <algorithm>
#include <string>
#include <vector>

#include "common/circuit/json_format.h"
#include "jobs_test_util.h"
#include "worker/data/row_io.h"
#include "worker/finetune/peft_io.h"
#include "worker/finetune/rank_map.h"

namespace fc::jobs::testing {
namespace {

constexpr int64_t kLayers = 2;

class CompositionalTest : public JobsTest {
 protected:
  Ran MakeData(const std::string& task) {
    // max_operand 500: number tokens up to 1000, so composite and subtask answers are single tokens.
    return RunKind("dataset", {{"task", task}, {"max_operand", 500}, {"size", 100},
                               {"circuit_fraction", 0.2}, {"seed", 7}},
                   Dir(task));
  }
  nlohmann::json Discover(const std::string& model, const Ran& data) const {
    return {{"model", model}, {"data", data.Output("circuit")}, {"ig_steps", 2}, {"top", "20%"},
            {"batch_size", 10}};
  }
  nlohmann::json Lora(const std::string& model, const Ran& data) const {
    return {{"model", model}, {"data", data.Output("ft")}, {"eval_data", data.Output("circuit")},
            {"method", "lora"}, {"rank", 4}, {"alpha", 8.0}, {"lr", 1e-2}, {"steps", 3}, {"batch_size", 8},
            {"grad_accum", 1}, {"warmup", 1}, {"checkpoint_every", 0}, {"max_length", 128}};
  }
};

int64_t CollapsedEdges(const Ran& discovered) {
  return ReadJson(discovered.Output("circuit") + "/summary.json").at("collapsed_edges").get<int64_t>();
}

TEST_F(CompositionalTest, UnionOfSubtaskCircuitsVersusCompositeCircuitInCircuitLora) {
  // 1. the composite task and its two subtasks, line-aligned
  Ran comp = MakeData("compositional");
  ASSERT_TRUE(comp.status.ok()) << comp.status.ToString();
  Ran as = MakeData("compositional_add_sub");
  ASSERT_TRUE(as.status.ok()) << as.status.ToString();
  Ran md = MakeData("compositional_mul_div");
  ASSERT_TRUE(md.status.ok()) << md.status.ToString();
  auto comp_rows = data::ReadRows(comp.Output("circuit"));
  auto as_rows = data::ReadRows(as.Output("circuit"));
  auto md_rows = data::ReadRows(md.Output("circuit"));
  ASSERT_TRUE(comp_rows.ok() && as_rows.ok() && md_rows.ok());
  ASSERT_FALSE(comp_rows->empty());
  ASSERT_EQ(as_rows->size(), comp_rows->size());
  ASSERT_EQ(md_rows->size(), comp_rows->size());
  for (size_t i = 0; i < comp_rows->size(); ++i) {
    const auto& c = (*comp_rows)[i];
    // add/sub subtask: PREFIX "x op1 y =", the composite's bracket "(x op1 y)"
    const size_t open = c.clean.find('('), close = c.clean.find(')');
    ASSERT_NE(open, std::string::npos) << c.clean;
    ASSERT_NE(close, std::string::npos) << c.clean;
    const std::string prefix = c.clean.substr(0, open);
    EXPECT_EQ((*as_rows)[i].clean, prefix + c.clean.substr(open + 1, close - open - 1) + " =") << "row " << i;
    // mul/div subtask: PREFIX "v op2 z =" with v the add/sub answer; its answer is the composite's
    EXPECT_EQ((*md_rows)[i].label, c.label) << "row " << i;
    EXPECT_EQ((*md_rows)[i].clean.rfind(prefix + (*as_rows)[i].label + " ", 0), 0u)
        << "row " << i << ": " << (*md_rows)[i].clean;
  }

  // 2. a tiny base model on the composite rows
  Ran base = RunKind("train_base", {{"data", comp.Output("ft")}, {"layers", kLayers}, {"heads", 2}, {"d_model", 32},
                                    {"max_positions", 128}, {"steps", 10}, {"batch_size", 16}, {"lr", 3e-3}},
                     Dir("base"));
  ASSERT_TRUE(base.status.ok()) << base.status.ToString();
  const std::string model = base.Output("model");

  // 3. circuits of each subtask and of the composite
  Ran c_as = RunKind("discover", Discover(model, as), Dir("disc_as"));
  ASSERT_TRUE(c_as.status.ok()) << c_as.status.ToString();
  Ran c_md = RunKind("discover", Discover(model, md), Dir("disc_md"));
  ASSERT_TRUE(c_md.status.ok()) << c_md.status.ToString();
  Ran c_comp = RunKind("discover", Discover(model, comp), Dir("disc_comp"));
  ASSERT_TRUE(c_comp.status.ok()) << c_comp.status.ToString();
  const int64_t target = CollapsedEdges(c_comp);
  ASSERT_GT(target, 0);

  // 4. union of the subtask circuits at the composite's edge count
  Ran uni = RunKind("merge", {{"circuits", {c_as.Output("circuit"), c_md.Output("circuit")}}, {"mode", "union"},
                              {"target_edges", target}},
                    Dir("union"));
  ASSERT_TRUE(uni.status.ok()) << uni.status.ToString();
  const int64_t union_edges = uni.result.at("collapsed_edges").get<int64_t>();
  EXPECT_GT(union_edges, 0);
  EXPECT_LE(union_edges, target);
  {
    auto u = circuit::ReadCollapsedCircuitJson(uni.Output("circuit") + "/circuit_collapsed.json");
    auto a = circuit::ReadCollapsedCircuitJson(c_as.Output("circuit") + "/circuit_collapsed.json");
    auto m = circuit::ReadCollapsedCircuitJson(c_md.Output("circuit") + "/circuit_collapsed.json");
    ASSERT_TRUE(u.ok()) << u.status().ToString();
    ASSERT_TRUE(a.ok() && m.ok());
    ASSERT_EQ(u->edge_in.size(), a->edge_in.size());
    ASSERT_EQ(u->edge_in.size(), m->edge_in.size());
    EXPECT_EQ(u->CountEdges(), union_edges);
    int64_t from_subtasks = 0;
    for (size_t i = 0; i < u->edge_in.size(); ++i) {
      if (!u->edge_in[i]) continue;
      EXPECT_TRUE(a->edge_in[i] || m->edge_in[i]) << "union edge index " << i << " is in neither subtask circuit";
      ++from_subtasks;
    }
    EXPECT_EQ(from_subtasks, union_edges);
    // the cut keeps min(target, |A ∪ B|) edges
    int64_t full_union = 0;
    for (size_t i = 0; i < a->edge_in.size(); ++i) full_union += (a->edge_in[i] || m->edge_in[i]) ? 1 : 0;
    EXPECT_EQ(union_edges, std::min(target, full_union));
  }

  // 5. composite circuit after a short LoRA on the composite rows
  Ran lora = RunKind("finetune", Lora(model, comp), Dir("lora"));
  ASSERT_TRUE(lora.status.ok()) << lora.status.ToString();
  nlohmann::json after_params = Discover(model, comp);
  after_params["checkpoint"] = lora.Output("last");
  Ran c_after = RunKind("discover", after_params, Dir("disc_comp_after"));
  ASSERT_TRUE(c_after.status.ok()) << c_after.status.ToString();

  struct Arm {
    std::string name;
    std::string base_circuit;
  };
  for (const Arm& arm : {Arm{"union", uni.Output("circuit")}, Arm{"composite", c_comp.Output("circuit")}}) {
    SCOPED_TRACE(arm.name);
    Ran plan = RunKind("circuit_lora_plan", {{"base_circuit", arm.base_circuit},
                                             {"tuned_circuit", c_after.Output("circuit")},
                                             {"top_k", 1}, {"r_o", 2}, {"r_c", 8}, {"alpha", 4.0}, {"alpha_c", 16.0}},
                       Dir("plan_" + arm.name));
    ASSERT_TRUE(plan.status.ok()) << plan.status.ToString();
    auto rank_map = finetune::ReadRankMap(plan.Output("plan"));
    ASSERT_TRUE(rank_map.ok()) << rank_map.status().ToString();
    ASSERT_EQ(rank_map->critical_layers.size(), 1u);
    for (int64_t l : rank_map->critical_layers) {
      EXPECT_GE(l, 0);
      EXPECT_LT(l, kLayers);
    }
    const int64_t critical = rank_map->critical_layers[0];

    nlohmann::json cp = Lora(model, comp);
    cp["method"] = "circuit_lora";
    cp["plan"] = plan.Output("plan");
    Ran clora = RunKind("finetune", cp, Dir("clora_" + arm.name));
    ASSERT_TRUE(clora.status.ok()) << clora.status.ToString();
    auto adapter = finetune::ReadPeftAdapter(clora.Output("adapter"));
    ASSERT_TRUE(adapter.ok()) << adapter.status().ToString();
    ASSERT_FALSE(adapter->modules.empty());
    for (const auto& [module, t] : adapter->modules) {
      const bool in_critical = module.find("layers." + std::to_string(critical) + ".") != std::string::npos;
      EXPECT_EQ(t.A.size(0), in_critical ? 8 : 2) << module;
    }

    Ran eval = RunKind("evaluate", {{"model", clora.Output("model")}, {"data", comp.Output("circuit")}},
                       Dir("eval_" + arm.name));
    ASSERT_TRUE(eval.status.ok()) << eval.status.ToString();
    EXPECT_EQ(eval.result.at("total").get<int64_t>(), static_cast<int64_t>(comp_rows->size()));
    EXPECT_GE(eval.result.at("accuracy").get<double>(), 0.0);
    EXPECT_LE(eval.result.at("accuracy").get<double>(), 1.0);
  }
}

}  // namespace
}  // namespace fc::jobs::testing
