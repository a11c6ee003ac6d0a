// Times the circuit library on a Pythia-1.4b-sized graph (231,493 edges) with random scores:
// top-5% selection + prune, collapse, full JSON write/read, collapsed JSON write/read, diff,
// merge and a CircuitLoRA plan. Prints one line per step (median of --reps runs, ms).
//   circuit_bench [--layers 24 --heads 16 --sequential --reps 5 --dir /tmp]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "common/circuit/circuit_lora_plan.h"
#include "common/circuit/collapsed.h"
#include "common/circuit/diff.h"
#include "common/circuit/json_format.h"
#include "common/circuit/merge.h"
#include "common/circuit/selection.h"

namespace fc::circuit {
namespace {

double TimeMs(int reps, const std::function<void()>& fn) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void Check(const Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
    std::exit(1);
  }
}

Circuit Random(const GraphLayout& g, uint32_t seed) {
  auto c = MakeCircuit(EdgeScores(g.config()));
  Check(c.status());
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  for (auto [f, b] : g.EdgeOrder()) c->scores.at(f, b) = nd(rng) * 1e-6f;
  return std::move(c).value();
}

int Main(int argc, char** argv) {
  GraphConfig cfg{24, 16, true, 2048};
  int reps = 5;
  std::string dir = "/tmp";
  for (int i = 1; i < argc; ++i) {
    auto next = [&]() { return i + 1 < argc ? argv[++i] : ""; };
    if (!std::strcmp(argv[i], "--layers")) cfg.n_layers = std::atoi(next());
    else if (!std::strcmp(argv[i], "--heads")) cfg.n_heads = std::atoi(next());
    else if (!std::strcmp(argv[i], "--sequential")) cfg.parallel_attn_mlp = false;
    else if (!std::strcmp(argv[i], "--reps")) reps = std::max(1, std::atoi(next()));
    else if (!std::strcmp(argv[i], "--dir")) dir = next();
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  Check(ValidateGraphConfig(cfg));
  GraphLayout g(cfg);
  std::printf("graph L=%d H=%d %s: %lld edges, %d nodes, %lld collapsed edges\n", cfg.n_layers,
              cfg.n_heads, cfg.parallel_attn_mlp ? "parallel" : "sequential",
              static_cast<long long>(g.n_edges()), g.n_nodes(),
              static_cast<long long>(g.n_collapsed_edges()));
  Circuit a = Random(g, 1), b = Random(g, 2);
  const int64_t n = TopPercentCount(g, 0.05);
  std::printf("%-32s %9.2f ms\n", "top-5% select + prune",
              TimeMs(reps, [&] { Check(SelectTopN(g, n, true, true, &a)); }));
  Check(SelectTopN(g, n, true, true, &b));
  std::printf("  (%lld of %lld selected edges survive pruning)\n",
              static_cast<long long>(a.CountEdges()), static_cast<long long>(n));
  std::printf("%-32s %9.2f ms\n", "greedy 5% + prune",
              TimeMs(reps, [&] {
                Circuit c = b;
                Check(SelectGreedy(g, n, true, true, &c));
              }));
  StatusOr<CollapsedCircuit> ca = Collapse(g, a), cb = Collapse(g, b);
  std::printf("%-32s %9.2f ms\n", "collapse", TimeMs(reps, [&] { ca = Collapse(g, a); }));
  Check(ca.status());
  Check(cb.status());
  const std::string full = dir + "/circuit_bench_full.json", col = dir + "/circuit_bench_col.json";
  std::printf("%-32s %9.2f ms\n", "write full JSON (all edges)",
              TimeMs(reps, [&] { Check(WriteCircuitJson(a, JsonDialect::kEapOld, full)); }));
  std::printf("%-32s %9.2f ms\n", "read full JSON (all edges)",
              TimeMs(reps, [&] { Check(ReadCircuitJson(full).status()); }));
  std::printf("%-32s %9.2f ms\n", "write collapsed JSON",
              TimeMs(reps, [&] { Check(WriteCollapsedJson(*ca, JsonDialect::kEapNew, col)); }));
  std::printf("%-32s %9.2f ms\n", "read collapsed JSON",
              TimeMs(reps, [&] { Check(ReadCircuitJson(col).status()); }));
  std::printf("%-32s %9.2f ms\n", "diff collapsed",
              TimeMs(reps, [&] { Check(DiffCircuits(*ca, *cb).status()); }));
  MergeOptions mo;
  mo.target_edges = 11479;
  std::printf("%-32s %9.2f ms\n", "union merge, target 11,479",
              TimeMs(reps, [&] { Check(MergeCollapsed(*ca, *cb, mo).status()); }));
  if (cfg.n_layers == 24 && cfg.n_heads == 16) {
    CircuitLoraOptions po;
    po.shape = ModelShape::Pythia1p4b();
    std::printf("%-32s %9.2f ms\n", "CircuitLoRA plan",
                TimeMs(reps, [&] { Check(PlanCircuitLora(*ca, *cb, po).status()); }));
  }
  std::remove(full.c_str());
  std::remove(col.c_str());
  return 0;
}

}  // namespace
}  // namespace fc::circuit

int main(int argc, char** argv) { return fc::circuit::Main(argc, argv); }
