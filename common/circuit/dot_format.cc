#include "common/circuit/dot_format.h"

#include <cmath>
#include <iterator>
#include <vector>

#include "common/circuit/json_format.h"

namespace fc::circuit {

namespace {

struct DrawEdge {
  int src_node, dst_node;
  const char* label;  // q/k/v or ""
  double score;
};

const char* NodeFill(const GraphLayout& g, int node) {
  if (node == 0 || node == g.NodeLogits()) return "#dddddd";
  return g.ForwardInfo(node).kind == NodeKind::kMlp ? "#c7e9c0" : "#c6dbef";
}

std::string Render(const GraphLayout& g, const std::vector<uint8_t>& node_in,
                   const std::vector<DrawEdge>& edges, const DotOptions& opt) {
  std::string out;
  auto w = std::back_inserter(out);
  fmt::format_to(w, "digraph \"{}\" {{\n  rankdir=BT;\n  node [shape=box, style=\"filled,rounded\", "
                    "fontname=\"Helvetica\"];\n", opt.graph_name);
  // Ranks: input, then per layer l its heads and MLP, then logits.
  auto emit_node = [&](int n) {
    fmt::format_to(w, "    \"{}\" [fillcolor=\"{}\"];\n", g.NodeName(n), NodeFill(g, n));
  };
  if (node_in[0]) {
    out += "  { rank=min;\n";
    emit_node(0);
    out += "  }\n";
  }
  for (int l = 0; l < g.n_layers(); ++l) {
    bool any = false;
    for (int h = 0; h <= g.n_heads(); ++h) {
      const int n = h < g.n_heads() ? g.ForwardHead(l, h) : g.ForwardMlp(l);
      if (!node_in[n]) continue;
      if (!any) fmt::format_to(w, "  subgraph layer_{} {{ rank=same;\n", l);
      any = true;
      emit_node(n);
    }
    if (any) out += "  }\n";
  }
  if (node_in[g.NodeLogits()]) {
    out += "  { rank=max;\n";
    emit_node(g.NodeLogits());
    out += "  }\n";
  }
  double max_abs = 0.0;
  for (const DrawEdge& e : edges)
    if (std::isfinite(e.score)) max_abs = std::max(max_abs, std::fabs(e.score));
  for (const DrawEdge& e : edges) {
    const double a = std::isfinite(e.score) ? std::fabs(e.score) : 0.0;
    const double width =
        max_abs > 0 ? opt.min_width + (opt.max_width - opt.min_width) * a / max_abs : opt.min_width;
    const std::string& color = e.score < 0 ? opt.negative_color : opt.positive_color;
    fmt::format_to(w, "  \"{}\" -> \"{}\" [color=\"{}\", penwidth={:.3f}", g.NodeName(e.src_node),
                   g.NodeName(e.dst_node), color, width);
    std::string label = e.label;
    if (opt.label_scores) label += (label.empty() ? "" : " ") + fmt::format("{:.3g}", e.score);
    if (!label.empty()) fmt::format_to(w, ", label=\"{}\"", label);
    out += "];\n";
  }
  out += "}\n";
  return out;
}

}  // namespace

std::string CollapsedToDot(const CollapsedCircuit& c, const DotOptions& opt) {
  GraphLayout g(c.cfg);
  std::vector<DrawEdge> edges;
  for (auto [f, col] : g.CollapsedEdgeOrder())
    if (c.edge(f, col)) edges.push_back({f, g.CollapsedDstNode(col), "", c.score(f, col)});
  // Draw every endpoint even if a hand-made circuit forgot to flag it.
  std::vector<uint8_t> nodes = c.node_in;
  for (const DrawEdge& e : edges) nodes[e.src_node] = nodes[e.dst_node] = 1;
  return Render(g, nodes, edges, opt);
}

std::string CircuitToDot(const Circuit& c, const DotOptions& opt) {
  GraphLayout g(c.cfg());
  static const char* kQkv[3] = {"q", "k", "v"};
  std::vector<DrawEdge> edges;
  for (auto [f, b] : g.EdgeOrder()) {
    if (!c.edge(f, b)) continue;
    DstInfo d = g.BackwardInfo(b);
    edges.push_back({f, g.DstNode(b), d.kind == NodeKind::kHead ? kQkv[static_cast<int>(d.qkv)] : "",
                     c.scores.at(f, b)});
  }
  std::vector<uint8_t> nodes = c.node_in;
  for (const DrawEdge& e : edges) nodes[e.src_node] = nodes[e.dst_node] = 1;
  return Render(g, nodes, edges, opt);
}

Status WriteDot(const std::string& dot, const std::string& path) {
  return WriteFileAtomically(path, dot);
}

}  // namespace fc::circuit
