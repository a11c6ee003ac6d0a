// fcctl report's rendering: the tables carry every tracked quantity, the SVG files are written
// and hold one polyline per series and one bar per (series, layer); an unreachable coordinator
// is UNAVAILABLE naming the address.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/svg.h"
#include "cli/tracking_commands.h"
#include "tests/coordinator/test_util.h"

namespace fc::cli {
namespace {

using nlohmann::json;

json SampleReport() {
  json diff = {{"nodes_added", 2}, {"nodes_removed", 1}, {"edges_added", 5}, {"edges_removed", 3},
               {"nodes_added_per_layer", {1, 1}}, {"nodes_removed_per_layer", {0, 1}},
               {"edges_added_per_layer", {4, 1}}, {"edges_removed_per_layer", {1, 2}},
               {"node_jaccard", 0.7}, {"edge_jaccard", 0.6}, {"node_induced_edge_changes", 6}, {"other_edge_changes", 2}};
  json base = {{"step", 0}, {"circuit", "e/track@0"}, {"checkpoint", ""}, {"nodes", 9}, {"edges", 20},
               {"faithfulness_kl_pct", 95.5}, {"faithfulness_normalized", 0.9}, {"circuit_accuracy", 0.8},
               {"model_accuracy", 0.85}, {"checkpoint_accuracy", nullptr}, {"diff_prev", nullptr}, {"diff_base", nullptr}};
  json later = base;
  later["step"] = 10;
  later["edges"] = 22;
  later["faithfulness_kl_pct"] = 97.25;
  later["checkpoint_accuracy"] = 0.5;
  later["diff_prev"] = diff;
  later["diff_base"] = diff;
  return {{"experiment", "e"}, {"state", "EXP_SUCCEEDED"},
          {"finetunes", {{{"job", "lora"}, {"method", "lora"}, {"trainable_params", 4096},
                          {"checkpoints", {{{"step", 10}, {"name", "checkpoint-10"}, {"parent", "base"}, {"loss", 0.25},
                                            {"accuracy", 0.5}, {"path", "/p"}}}},
                          {"loss", json::array()}}}},
          {"tracks", {{{"job", "track"}, {"finetune", "lora"}, {"points", {base, later}}, {"diffs_missing", nullptr}}}},
          {"evaluations", {{{"job", "eval_lora"}, {"model", "lora"}, {"method", "lora"}, {"trainable_params", 4096},
                            {"accuracy", 0.625}, {"state", "SUCCEEDED"}},
                           {{"job", "eval_clora"}, {"model", "clora"}, {"method", "circuit_lora"},
                            {"trainable_params", 2048}, {"accuracy", 0.75}, {"state", "SUCCEEDED"}}}}};
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST(ReportCli, TablesCarryEveryTrackedQuantity) {
  std::string t = TrackingTables(SampleReport());
  EXPECT_NE(t.find("checkpoint-10"), std::string::npos);
  EXPECT_NE(t.find("97.25"), std::string::npos);     // faithfulness at step 10
  EXPECT_NE(t.find("EDGE_J_BASE"), std::string::npos);
  EXPECT_NE(t.find("0.6"), std::string::npos);       // edge Jaccard to the base
  EXPECT_NE(t.find("circuit_lora"), std::string::npos);
  EXPECT_NE(t.find("0.625"), std::string::npos);
  EXPECT_NE(t.find("2048"), std::string::npos);
}

TEST(ReportCli, WritesSvgPlotsWithOneShapePerSeriesAndLayer) {
  fc::coord::testing::TempDir dir;
  auto files = WriteReportFiles(SampleReport(), dir.file("out"));
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ(files->size(), 5u);
  std::ifstream f(dir.file("out/layers_track.svg"));
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string bars = ss.str();
  EXPECT_EQ(bars.rfind("<svg", 0), 0u);
  EXPECT_EQ(Count(bars, "<rect x=") - 2, 4);  // 2 series x 2 layers (+ 2 legend swatches)
  EXPECT_NE(bars.find("added: 4"), std::string::npos);
  std::ifstream g(dir.file("out/faithfulness.svg"));
  std::stringstream gs;
  gs << g.rdbuf();
  EXPECT_EQ(Count(gs.str(), "<polyline"), 2);  // KL % and normalized
  EXPECT_TRUE(json::parse(std::ifstream(dir.file("out/report.json"))).at("tracks").is_array());
}

TEST(ReportCli, SvgTextIsEscaped) {
  std::string s = LineChartSvg("a<b & \"c\"", "x", "y", {{"s<1>", {{0, 1}, {1, 2}}}});
  EXPECT_NE(s.find("a&lt;b &amp; &quot;c&quot;"), std::string::npos);
  EXPECT_EQ(s.find("s<1>"), std::string::npos);
}

TEST(ReportCli, UnreachableCoordinatorIsUnavailableNamingTheAddress) {
  auto r = HttpGetJson("127.0.0.1:1", "/api/v1/experiments/x/tracking", 2000);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("127.0.0.1:1"), std::string::npos);
  EXPECT_EQ(HttpGetJson("nocolon", "/", 100).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fc::cli
