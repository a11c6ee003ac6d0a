#include "common/circuit/json_format.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

namespace fc::circuit {

namespace {

using nlohmann::json;

const char* TypeName(const json& v) { return v.type_name(); }

// Reads cfg.<key> as an integer.
Status ReadCfgInt(const json& cfg, const char* key, bool required, const std::string& src, int* out) {
  auto it = cfg.find(key);
  if (it == cfg.end()) {
    if (!required) return Status::OK();
    return InvalidArgumentError("{}: cfg.{}: missing required field", src, key);
  }
  if (!it->is_number_integer())
    return InvalidArgumentError("{}: cfg.{}: expected an integer, got {} {}", src, key,
                                TypeName(*it), it->dump());
  const int64_t v = it->get<int64_t>();
  if (v < 0 || v > (1 << 30))
    return InvalidArgumentError("{}: cfg.{}: out of range: {}", src, key, v);
  *out = static_cast<int>(v);
  return Status::OK();
}

StatusOr<GraphConfig> ReadCfg(const json& root, const std::string& src) {
  auto it = root.find("cfg");
  if (it == root.end()) return InvalidArgumentError("{}: cfg: missing required object", src);
  if (!it->is_object())
    return InvalidArgumentError("{}: cfg: expected an object, got {}", src, TypeName(*it));
  GraphConfig cfg;
  FC_RETURN_IF_ERROR(ReadCfgInt(*it, "n_layers", true, src, &cfg.n_layers));
  FC_RETURN_IF_ERROR(ReadCfgInt(*it, "n_heads", true, src, &cfg.n_heads));
  FC_RETURN_IF_ERROR(ReadCfgInt(*it, "d_model", false, src, &cfg.d_model));
  auto p = it->find("parallel_attn_mlp");
  if (p == it->end())
    return InvalidArgumentError("{}: cfg.parallel_attn_mlp: missing required field", src);
  if (!p->is_boolean())
    return InvalidArgumentError("{}: cfg.parallel_attn_mlp: expected a boolean, got {} {}", src,
                                TypeName(*p), p->dump());
  cfg.parallel_attn_mlp = p->get<bool>();
  Status s = ValidateGraphConfig(cfg);
  if (!s.ok()) return s.WithContext(src + ": cfg");
  return cfg;
}

// score: number or null (null -> 0, as FC's apply_topn). Missing is an error.
Status ReadScore(const json& v, const std::string& src, std::string_view name, double* out) {
  auto it = v.find("score");
  if (it == v.end())
    return InvalidArgumentError("{}: edges[\"{}\"].score: missing (use null for no score)", src, name);
  if (it->is_null()) {
    *out = 0.0;
  } else if (it->is_number()) {
    *out = it->get<double>();
  } else {
    return InvalidArgumentError("{}: edges[\"{}\"].score: expected a number or null, got {} {}",
                                src, name, TypeName(*it), it->dump());
  }
  return Status::OK();
}

Status ReadEdgeInGraph(const json& v, const std::string& src, std::string_view name, bool* out) {
  auto it = v.find("in_graph");
  if (it == v.end())
    return InvalidArgumentError("{}: edges[\"{}\"].in_graph: missing required field", src, name);
  if (!it->is_boolean())
    return InvalidArgumentError("{}: edges[\"{}\"].in_graph: expected a boolean, got {} {}", src,
                                name, TypeName(*it), it->dump());
  *out = it->get<bool>();
  return Status::OK();
}

struct NodesRead {
  JsonDialect dialect;
  std::vector<uint8_t> node_in;
  std::vector<float> node_scores;  // empty unless some [EAP-new] node has a score
};

// require_all: the full form lists every node; FC's merge_circuit drops untouched nodes from
// collapsed files, so there a missing node just means "not in graph".
StatusOr<NodesRead> ReadNodes(const json& root, const GraphLayout& g, const std::string& src,
                              bool require_all) {
  auto it = root.find("nodes");
  if (it == root.end()) return InvalidArgumentError("{}: nodes: missing required object", src);
  if (!it->is_object())
    return InvalidArgumentError("{}: nodes: expected an object, got {}", src, TypeName(*it));
  if (it->empty()) return InvalidArgumentError("{}: nodes: empty object", src);
  NodesRead r;
  r.dialect = it->begin()->is_object() ? JsonDialect::kEapNew : JsonDialect::kEapOld;
  r.node_in.assign(static_cast<size_t>(g.n_nodes()), 0);
  std::vector<uint8_t> seen(static_cast<size_t>(g.n_nodes()), 0);
  bool any_score = false;
  std::vector<float> scores(static_cast<size_t>(g.n_nodes()), std::nanf(""));
  for (auto n = it->begin(); n != it->end(); ++n) {
    const std::string& name = n.key();
    const int idx = g.ParseNodeName(name);
    if (idx < 0)
      return InvalidArgumentError(
          "{}: nodes[\"{}\"]: unknown node name for cfg n_layers={} n_heads={}", src, name,
          g.n_layers(), g.n_heads());
    seen[idx] = 1;
    const json& v = n.value();
    if (r.dialect == JsonDialect::kEapOld) {
      if (!v.is_boolean())
        return InvalidArgumentError(
            "{}: nodes[\"{}\"]: expected a boolean ([EAP-old] dialect, decided by the first node), "
            "got {} {}", src, name, TypeName(v), v.dump());
      r.node_in[idx] = v.get<bool>();
      continue;
    }
    if (!v.is_object())
      return InvalidArgumentError(
          "{}: nodes[\"{}\"]: expected an object ([EAP-new] dialect, decided by the first node), "
          "got {} {}", src, name, TypeName(v), v.dump());
    auto ig = v.find("in_graph");
    if (ig == v.end())
      return InvalidArgumentError("{}: nodes[\"{}\"].in_graph: missing required field", src, name);
    if (!ig->is_boolean())
      return InvalidArgumentError("{}: nodes[\"{}\"].in_graph: expected a boolean, got {} {}", src,
                                  name, TypeName(*ig), ig->dump());
    r.node_in[idx] = ig->get<bool>();
    auto sc = v.find("score");
    if (sc != v.end() && !sc->is_null()) {
      if (!sc->is_number())
        return InvalidArgumentError("{}: nodes[\"{}\"].score: expected a number or null, got {} {}",
                                    src, name, TypeName(*sc), sc->dump());
      scores[idx] = static_cast<float>(sc->get<double>());
      any_score = true;
    }
  }
  for (int n = 0; n < g.n_nodes() && require_all; ++n)
    if (!seen[n])
      return InvalidArgumentError(
          "{}: nodes: missing node '{}' (cfg n_layers={} n_heads={} has {} nodes, file lists {})",
          src, g.NodeName(n), g.n_layers(), g.n_heads(), g.n_nodes(), it->size());
  if (any_score) r.node_scores = std::move(scores);
  return r;
}

bool IsFullForm(const json& edges) {
  for (auto e = edges.begin(); e != edges.end(); ++e) {
    const std::string& k = e.key();
    if (!k.empty() && k.back() == '>') return true;
  }
  return false;
}

Status ReadFullEdges(const json& edges, const GraphLayout& g, const std::string& src, Circuit* c) {
  const int nb = g.n_backward();
  for (auto e = edges.begin(); e != edges.end(); ++e) {
    const std::string& name = e.key();
    int f, b;
    Status s = g.ParseEdgeName(name, &f, &b);
    if (!s.ok())
      return InvalidArgumentError("{}: edges[\"{}\"]: {} (full form)", src, name, s.message());
    const json& v = e.value();
    if (!v.is_object())
      return InvalidArgumentError("{}: edges[\"{}\"]: expected an object, got {}", src, name,
                                  TypeName(v));
    double score;
    bool in;
    FC_RETURN_IF_ERROR(ReadScore(v, src, name, &score));
    FC_RETURN_IF_ERROR(ReadEdgeInGraph(v, src, name, &in));
    c->scores.data[static_cast<size_t>(f) * nb + b] = static_cast<float>(score);
    c->edge_in[static_cast<size_t>(f) * nb + b] = in;
  }
  if (static_cast<int64_t>(edges.size()) != g.n_edges()) {
    // Name the first missing edge: a truncated or hand-edited file.
    std::vector<uint8_t> seen(c->edge_in.size(), 0);
    for (auto e = edges.begin(); e != edges.end(); ++e) {
      int f, b;
      (void)g.ParseEdgeName(e.key(), &f, &b);
      seen[static_cast<size_t>(f) * nb + b] = 1;
    }
    for (auto [f, b] : g.EdgeOrder())
      if (!seen[static_cast<size_t>(f) * nb + b])
        return InvalidArgumentError(
            "{}: edges: missing edge '{}' (full form lists all {} edges of cfg n_layers={} "
            "n_heads={} parallel_attn_mlp={}; file has {})",
            src, g.EdgeName(f, b), g.n_edges(), g.n_layers(), g.n_heads(),
            g.config().parallel_attn_mlp, edges.size());
  }
  return Status::OK();
}

Status ReadCollapsedEdges(const json& edges, const GraphLayout& g, const std::string& src,
                          CollapsedCircuit* c) {
  for (auto e = edges.begin(); e != edges.end(); ++e) {
    const std::string& name = e.key();
    int f, col;
    Status s = g.ParseCollapsedEdgeName(name, &f, &col);
    if (!s.ok())
      return InvalidArgumentError("{}: edges[\"{}\"]: {} (collapsed form)", src, name, s.message());
    const json& v = e.value();
    if (!v.is_object())
      return InvalidArgumentError("{}: edges[\"{}\"]: expected an object, got {}", src, name,
                                  TypeName(v));
    double score;
    bool in;
    FC_RETURN_IF_ERROR(ReadScore(v, src, name, &score));
    FC_RETURN_IF_ERROR(ReadEdgeInGraph(v, src, name, &in));
    if (in) c->Set(f, col, score);
  }
  return Status::OK();
}

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

StatusOr<CircuitFile> ParseCircuitJson(std::string_view text, const std::string& source,
                                       const std::optional<GraphConfig>& expect) {
  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return InvalidArgumentError("{}: not valid JSON (truncated?): {}", source, e.what());
  }
  if (!root.is_object())
    return InvalidArgumentError("{}: top level: expected an object, got {}", source, TypeName(root));
  FC_ASSIGN_OR_RETURN(GraphConfig cfg, ReadCfg(root, source));
  if (expect && *expect != cfg)
    return InvalidArgumentError(
        "{}: cfg: n_layers={} n_heads={} parallel_attn_mlp={} but the model expects n_layers={} "
        "n_heads={} parallel_attn_mlp={}",
        source, cfg.n_layers, cfg.n_heads, cfg.parallel_attn_mlp, expect->n_layers,
        expect->n_heads, expect->parallel_attn_mlp);
  GraphLayout g(cfg);
  auto eit = root.find("edges");
  if (eit == root.end()) return InvalidArgumentError("{}: edges: missing required object", source);
  if (!eit->is_object())
    return InvalidArgumentError("{}: edges: expected an object, got {}", source, TypeName(*eit));
  CircuitFile out;
  out.is_collapsed = !IsFullForm(*eit);
  FC_ASSIGN_OR_RETURN(NodesRead nodes, ReadNodes(root, g, source, !out.is_collapsed));
  out.dialect = nodes.dialect;
  if (out.is_collapsed) {
    out.collapsed = MakeEmptyCollapsed(cfg);
    out.collapsed.node_in = std::move(nodes.node_in);
    out.collapsed.node_scores = std::move(nodes.node_scores);
    FC_RETURN_IF_ERROR(ReadCollapsedEdges(*eit, g, source, &out.collapsed));
  } else {
    FC_ASSIGN_OR_RETURN(out.full, MakeCircuit(EdgeScores(cfg)));
    out.full.node_in = std::move(nodes.node_in);
    out.full.node_scores = std::move(nodes.node_scores);
    FC_RETURN_IF_ERROR(ReadFullEdges(*eit, g, source, &out.full));
  }
  return out;
}

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
  return WriteFileAtomically(path, CircuitToJson(c, dialect));
}

Status WriteCollapsedJson(const CollapsedCircuit& c, JsonDialect dialect, const std::string& path) {
  return WriteFileAtomically(path, CollapsedToJson(c, dialect));
}

}  // namespace fc::circuit
