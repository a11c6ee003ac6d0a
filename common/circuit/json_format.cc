#include "common/circuit/json_format.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

namespace fc::circuit {

namespace {

// Shortest round-trip text; null for NaN/inf (JSON has no such numbers).
template <typename T>
void AppendNumber(std::string* out, T v) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  fmt::format_to(std::back_inserter(*out), "{}", v);
}

void AppendHeader(std::string* out, const GraphConfig& cfg, JsonDialect d) {
  fmt::format_to(std::back_inserter(*out),
                 "{{\"cfg\": {{\"n_layers\": {}, \"n_heads\": {}, \"parallel_attn_mlp\": {}",
                 cfg.n_layers, cfg.n_heads, cfg.parallel_attn_mlp ? "true" : "false");
  if (d == JsonDialect::kEapNew) fmt::format_to(std::back_inserter(*out), ", \"d_model\": {}", cfg.d_model);
  out->append("}, \"nodes\": {");
}

void AppendNodes(std::string* out, const GraphLayout& g, const std::vector<uint8_t>& node_in,
                 const std::vector<float>& node_scores, JsonDialect d) {
  for (int n = 0; n < g.n_nodes(); ++n) {
    if (n) out->append(", ");
    out->push_back('"');
    out->append(g.NodeName(n));
    out->append("\": ");
    const char* in = node_in[n] ? "true" : "false";
    if (d == JsonDialect::kEapOld) {
      out->append(in);
      continue;
    }
    out->append("{\"in_graph\": ");
    out->append(in);
    if (!node_scores.empty() && !std::isnan(node_scores[n])) {
      out->append(", \"score\": ");
      AppendNumber(out, node_scores[n]);
    }
    out->push_back('}');
  }
  out->append("}, \"edges\": {");
}

void AppendEdge(std::string* out, bool first, const std::string& src, const std::string& dst,
                double score, bool is_float, bool in) {
  if (!first) out->append(", ");
  out->push_back('"');
  out->append(src);
  out->append("->");
  out->append(dst);
  out->append("\": {\"score\": ");
  if (is_float) AppendNumber(out, static_cast<float>(score));
  else AppendNumber(out, score);
  out->append(in ? ", \"in_graph\": true}" : ", \"in_graph\": false}");
}

}  // namespace

StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("{}: cannot open for reading", path);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return DataLossError("{}: read error", path);
  return data;
}

Status WriteFileAtomically(const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return PermissionDeniedError("{}: cannot open for writing", tmp);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.flush();
    if (!out) return DataLossError("{}: write failed", tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return DataLossError("{}: rename from {} failed", path, tmp);
  return Status::OK();
}

StatusOr<CircuitFile> ReadCircuitJson(const std::string& path,
                                      const std::optional<GraphConfig>& expect) {
  FC_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return ParseCircuitJson(text, path, expect);
}

StatusOr<CollapsedCircuit> ReadCollapsedCircuitJson(const std::string& path,
                                                    const std::optional<GraphConfig>& expect) {
  FC_ASSIGN_OR_RETURN(CircuitFile f, ReadCircuitJson(path, expect));
  if (f.is_collapsed) return std::move(f.collapsed);
  return Collapse(GraphLayout(f.full.cfg()), f.full);
}

std::string CircuitToJson(const Circuit& c, JsonDialect dialect) {
  GraphLayout g(c.cfg());
  std::string out;
  out.reserve(static_cast<size_t>(g.n_edges()) * 64 + static_cast<size_t>(g.n_nodes()) * 40 + 256);
  AppendHeader(&out, c.cfg(), dialect);
  AppendNodes(&out, g, c.node_in, c.node_scores, dialect);
  std::vector<std::string> fwd(g.n_forward()), bwd(g.n_backward());
  for (int f = 0; f < g.n_forward(); ++f) fwd[f] = g.ForwardName(f);
  for (int b = 0; b < g.n_backward(); ++b) bwd[b] = g.BackwardName(b);
  bool first = true;
  for (auto [f, b] : g.EdgeOrder()) {
    AppendEdge(&out, first, fwd[f], bwd[b], c.scores.at(f, b), true, c.edge(f, b));
    first = false;
  }
  out.append("}}");
  return out;
}

std::string CollapsedToJson(const CollapsedCircuit& c, JsonDialect dialect) {
  GraphLayout g(c.cfg);
  std::string out;
  out.reserve(static_cast<size_t>(c.CountEdges()) * 64 + static_cast<size_t>(g.n_nodes()) * 40 + 256);
  AppendHeader(&out, c.cfg, dialect);
  AppendNodes(&out, g, c.node_in, c.node_scores, dialect);
  std::vector<std::string> names(g.n_nodes());
  for (int n = 0; n < g.n_nodes(); ++n) names[n] = g.NodeName(n);
  bool first = true;
  for (auto [f, col] : g.CollapsedEdgeOrder()) {
    if (!c.edge(f, col)) continue;
    AppendEdge(&out, first, names[f], names[g.CollapsedDstNode(col)], c.score(f, col), false, true);
    first = false;
  }
  out.append("}}");
  return out;
}

Status WriteCircuitJson(const Circuit& c, JsonDialect dialect, const std::string& path) {
  FC_RETURN_IF_ERROR(ValidateCircuit(c).WithContext(path));
  return WriteFileAtomically(path, CircuitToJson(c, dialect));
}

Status WriteCollapsedJson(const CollapsedCircuit& c, JsonDialect dialect, const std::string& path) {
  FC_RETURN_IF_ERROR(ValidateCollapsed(c).WithContext(path));
  return WriteFileAtomically(path, CollapsedToJson(c, dialect));
}

}  // namespace fc::circuit
