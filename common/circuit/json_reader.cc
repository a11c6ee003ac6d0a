// ParseCircuitJson: streaming (SAX) read of EAP-IG circuit JSON, see json_format.h.
//
// A DOM parse of a 231k-edge file costs ~0.5 s in nlohmann::json, mostly allocating one map
// per edge; the SAX pass below records just the fields we read (~3x faster) and keeps enough
// of each value's type to name what is wrong, then validates against the graph layout.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/circuit/json_format.h"

namespace fc::circuit {

namespace {

using nlohmann::json;

// A JSON value as far as validation needs it: its type and, for scalars, its value.
struct Val {
  enum Kind : uint8_t { kMissing, kNull, kBool, kInt, kFloat, kString, kObject, kArray };
  Kind kind = kMissing;
  bool b = false;
  int64_t i = 0;
  double d = 0.0;

  bool is_number() const { return kind == kInt || kind == kFloat; }
  double AsDouble() const { return kind == kInt ? static_cast<double>(i) : d; }
  const char* TypeName() const {
    switch (kind) {
      case kMissing: return "nothing";
      case kNull: return "null";
      case kBool: return "boolean";
      case kInt:
      case kFloat: return "number";
      case kString: return "string";
      case kObject: return "object";
      default: return "array";
    }
  }
  std::string Show() const {  // "boolean true", "string", ...
    switch (kind) {
      case kBool: return b ? "boolean true" : "boolean false";
      case kInt: return fmt::format("number {}", i);
      case kFloat: return fmt::format("number {}", d);
      default: return TypeName();
    }
  }
};

struct NodeRec {
  std::string name;
  Val value, in_graph, score;  // in_graph/score: fields of an [EAP-new] node object
};

struct EdgeRec {
  std::string name;
  Val value, score, in_graph;
};

struct Doc {
  Val root;
  Val cfg_kind, nodes_kind, edges_kind;
  std::vector<std::pair<std::string, Val>> cfg;
  std::vector<NodeRec> nodes;
  std::vector<EdgeRec> edges;
  std::string parse_error;
};

class Reader : public nlohmann::json_sax<json> {
 public:
  explicit Reader(Doc* doc) : doc_(doc) {}

  bool null() override { return Scalar(Val{Val::kNull}); }
  bool boolean(bool v) override {
    Val x{Val::kBool};
    x.b = v;
    return Scalar(x);
  }
  bool number_integer(number_integer_t v) override {
    Val x{Val::kInt};
    x.i = v;
    return Scalar(x);
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (v > static_cast<number_unsigned_t>(INT64_MAX)) return number_float(static_cast<double>(v), "");
    Val x{Val::kInt};
    x.i = static_cast<int64_t>(v);
    return Scalar(x);
  }
  bool number_float(number_float_t v, const string_t&) override {
    Val x{Val::kFloat};
    x.d = v;
    return Scalar(x);
  }
  bool string(string_t&) override { return Scalar(Val{Val::kString}); }
  bool binary(binary_t&) override { return Scalar(Val{Val::kString}); }
  bool start_object(std::size_t) override { return Start(Val::kObject); }
  bool start_array(std::size_t) override { return Start(Val::kArray); }
  bool end_object() override { return End(); }
  bool end_array() override { return End(); }
  bool key(string_t& k) override {
    if (skip_ > 0) return true;
    switch (depth_) {
      case 1:
        section_ = k == "cfg" ? kCfg : k == "nodes" ? kNodes : k == "edges" ? kEdges : kOther;
        break;
      case 2:
        if (section_ == kCfg) doc_->cfg.emplace_back(std::move(k), Val{});
        else if (section_ == kNodes) doc_->nodes.push_back(NodeRec{std::move(k), {}, {}, {}});
        else if (section_ == kEdges) doc_->edges.push_back(EdgeRec{std::move(k), {}, {}, {}});
        break;
      case 3:
        field_ = k == "in_graph" ? kInGraph : k == "score" ? kScore : kIgnored;
        break;
      default: break;
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) override {
    doc_->parse_error = ex.what();
    return false;
  }

 private:
  enum Section { kCfg, kNodes, kEdges, kOther };
  enum Field { kInGraph, kScore, kIgnored };

  // The Val a value at the current position goes to, or null if nobody reads it.
  Val* Slot() {
    switch (depth_) {
      case 0: return &doc_->root;
      case 1:
        return section_ == kCfg ? &doc_->cfg_kind : section_ == kNodes ? &doc_->nodes_kind
               : section_ == kEdges ? &doc_->edges_kind : nullptr;
      case 2:
        if (section_ == kCfg) return &doc_->cfg.back().second;
        if (section_ == kNodes) return &doc_->nodes.back().value;
        if (section_ == kEdges) return &doc_->edges.back().value;
        return nullptr;
      case 3:
        if (field_ == kIgnored) return nullptr;
        if (section_ == kNodes)
          return field_ == kInGraph ? &doc_->nodes.back().in_graph : &doc_->nodes.back().score;
        if (section_ == kEdges)
          return field_ == kInGraph ? &doc_->edges.back().in_graph : &doc_->edges.back().score;
        return nullptr;
      default: return nullptr;
    }
  }
  bool Scalar(const Val& v) {
    if (skip_ > 0) return true;
    if (Val* s = Slot()) *s = v;
    return true;
  }
  bool Start(Val::Kind kind) {
    if (skip_ > 0) {
      ++skip_;
      return true;
    }
    Val* s = Slot();
    if (s) s->kind = kind;
    // Descend into: the root object, the cfg/nodes/edges objects, and each node/edge object.
    const bool descend = kind == Val::kObject && s != nullptr &&
                         (depth_ == 0 || depth_ == 1 ||
                          (depth_ == 2 && (section_ == kNodes || section_ == kEdges)));
    if (descend) ++depth_;
    else skip_ = 1;
    return true;
  }
  bool End() {
    if (skip_ > 0) --skip_;
    else --depth_;
    return true;
  }

  Doc* doc_;
  int depth_ = 0;  // open containers we descend into
  int skip_ = 0;   // > 0 while inside a container nobody reads
  Section section_ = kOther;
  Field field_ = kIgnored;
};

const Val* FindCfg(const Doc& doc, const char* key) {
  for (const auto& [k, v] : doc.cfg)
    if (k == key) return &v;
  return nullptr;
}

Status ReadCfgInt(const Doc& doc, const char* key, bool required, const std::string& src, int* out) {
  const Val* v = FindCfg(doc, key);
  if (v == nullptr) {
    if (!required) return Status::OK();
    return InvalidArgumentError("{}: cfg.{}: missing required field", src, key);
  }
  if (v->kind != Val::kInt)
    return InvalidArgumentError("{}: cfg.{}: expected an integer, got {}", src, key, v->Show());
  if (v->i < 0 || v->i > (1 << 30))
    return InvalidArgumentError("{}: cfg.{}: out of range: {}", src, key, v->i);
  *out = static_cast<int>(v->i);
  return Status::OK();
}

StatusOr<GraphConfig> ReadCfg(const Doc& doc, const std::string& src) {
  if (doc.cfg_kind.kind == Val::kMissing)
    return InvalidArgumentError("{}: cfg: missing required object", src);
  if (doc.cfg_kind.kind != Val::kObject)
    return InvalidArgumentError("{}: cfg: expected an object, got {}", src, doc.cfg_kind.Show());
  GraphConfig cfg;
  FC_RETURN_IF_ERROR(ReadCfgInt(doc, "n_layers", true, src, &cfg.n_layers));
  FC_RETURN_IF_ERROR(ReadCfgInt(doc, "n_heads", true, src, &cfg.n_heads));
  FC_RETURN_IF_ERROR(ReadCfgInt(doc, "d_model", false, src, &cfg.d_model));
  const Val* p = FindCfg(doc, "parallel_attn_mlp");
  if (p == nullptr)
    return InvalidArgumentError("{}: cfg.parallel_attn_mlp: missing required field", src);
  if (p->kind != Val::kBool)
    return InvalidArgumentError("{}: cfg.parallel_attn_mlp: expected a boolean, got {}", src, p->Show());
  cfg.parallel_attn_mlp = p->b;
  Status s = ValidateGraphConfig(cfg);
  if (!s.ok()) return s.WithContext(src + ": cfg");
  return cfg;
}

struct NodesRead {
  JsonDialect dialect = JsonDialect::kEapOld;
  std::vector<uint8_t> node_in;
  std::vector<float> node_scores;  // empty unless some [EAP-new] node has a score
};

// require_all: the full form lists every node; FC's merge_circuit drops untouched nodes from
// collapsed files, so there a missing node just means "not in graph".
StatusOr<NodesRead> ReadNodes(const Doc& doc, const GraphLayout& g, const std::string& src,
                              bool require_all) {
  if (doc.nodes_kind.kind == Val::kMissing)
    return InvalidArgumentError("{}: nodes: missing required object", src);
  if (doc.nodes_kind.kind != Val::kObject)
    return InvalidArgumentError("{}: nodes: expected an object, got {}", src, doc.nodes_kind.Show());
  if (doc.nodes.empty()) return InvalidArgumentError("{}: nodes: empty object", src);
  NodesRead r;
  r.dialect = doc.nodes.front().value.kind == Val::kObject ? JsonDialect::kEapNew : JsonDialect::kEapOld;
  r.node_in.assign(static_cast<size_t>(g.n_nodes()), 0);
  std::vector<uint8_t> seen(static_cast<size_t>(g.n_nodes()), 0);
  std::vector<float> scores(static_cast<size_t>(g.n_nodes()), std::nanf(""));
  bool any_score = false;
  for (const NodeRec& n : doc.nodes) {
    const int idx = g.ParseNodeName(n.name);
    if (idx < 0)
      return InvalidArgumentError("{}: nodes[\"{}\"]: unknown node name for cfg n_layers={} n_heads={}",
                                  src, n.name, g.n_layers(), g.n_heads());
    if (seen[idx]) return InvalidArgumentError("{}: nodes[\"{}\"]: duplicate key", src, n.name);
    seen[idx] = 1;
    if (r.dialect == JsonDialect::kEapOld) {
      if (n.value.kind != Val::kBool)
        return InvalidArgumentError(
            "{}: nodes[\"{}\"]: expected a boolean ([EAP-old] dialect, decided by the first node), "
            "got {}", src, n.name, n.value.Show());
      r.node_in[idx] = n.value.b;
      continue;
    }
    if (n.value.kind != Val::kObject)
      return InvalidArgumentError(
          "{}: nodes[\"{}\"]: expected an object ([EAP-new] dialect, decided by the first node), "
          "got {}", src, n.name, n.value.Show());
    if (n.in_graph.kind == Val::kMissing)
      return InvalidArgumentError("{}: nodes[\"{}\"].in_graph: missing required field", src, n.name);
    if (n.in_graph.kind != Val::kBool)
      return InvalidArgumentError("{}: nodes[\"{}\"].in_graph: expected a boolean, got {}", src,
                                  n.name, n.in_graph.Show());
    r.node_in[idx] = n.in_graph.b;
    if (n.score.kind != Val::kMissing && n.score.kind != Val::kNull) {
      if (!n.score.is_number())
        return InvalidArgumentError("{}: nodes[\"{}\"].score: expected a number or null, got {}",
                                    src, n.name, n.score.Show());
      scores[idx] = static_cast<float>(n.score.AsDouble());
      any_score = true;
    }
  }
  for (int n = 0; n < g.n_nodes() && require_all; ++n)
    if (!seen[n])
      return InvalidArgumentError(
          "{}: nodes: missing node '{}' (cfg n_layers={} n_heads={} has {} nodes, file lists {})",
          src, g.NodeName(n), g.n_layers(), g.n_heads(), g.n_nodes(), doc.nodes.size());
  if (any_score) r.node_scores = std::move(scores);
  return r;
}

// score: number or null (null -> 0, as FC's apply_topn); in_graph: boolean. Both required.
Status ReadEdgeFields(const EdgeRec& e, const std::string& src, double* score, bool* in) {
  if (e.value.kind != Val::kObject)
    return InvalidArgumentError("{}: edges[\"{}\"]: expected an object, got {}", src, e.name,
                                e.value.Show());
  if (e.score.kind == Val::kMissing)
    return InvalidArgumentError("{}: edges[\"{}\"].score: missing (use null for no score)", src, e.name);
  if (e.score.kind == Val::kNull) *score = 0.0;
  else if (e.score.is_number()) *score = e.score.AsDouble();
  else
    return InvalidArgumentError("{}: edges[\"{}\"].score: expected a number or null, got {}", src,
                                e.name, e.score.Show());
  if (e.in_graph.kind == Val::kMissing)
    return InvalidArgumentError("{}: edges[\"{}\"].in_graph: missing required field", src, e.name);
  if (e.in_graph.kind != Val::kBool)
    return InvalidArgumentError("{}: edges[\"{}\"].in_graph: expected a boolean, got {}", src,
                                e.name, e.in_graph.Show());
  *in = e.in_graph.b;
  return Status::OK();
}

Status ReadFullEdges(const Doc& doc, const GraphLayout& g, const std::string& src, Circuit* c) {
  const int nb = g.n_backward();
  std::vector<uint8_t> seen(c->edge_in.size(), 0);
  for (const EdgeRec& e : doc.edges) {
    int f, b;
    Status s = g.ParseEdgeName(e.name, &f, &b);
    if (!s.ok())
      return InvalidArgumentError("{}: edges[\"{}\"]: {} (full form)", src, e.name, s.message());
    const size_t i = static_cast<size_t>(f) * nb + b;
    if (seen[i]) return InvalidArgumentError("{}: edges[\"{}\"]: duplicate key", src, e.name);
    seen[i] = 1;
    double score;
    bool in;
    FC_RETURN_IF_ERROR(ReadEdgeFields(e, src, &score, &in));
    c->scores.data[i] = static_cast<float>(score);
    c->edge_in[i] = in;
  }
  if (static_cast<int64_t>(doc.edges.size()) != g.n_edges()) {
    for (auto [f, b] : g.EdgeOrder())  // name the first missing edge: truncated or hand-edited
      if (!seen[static_cast<size_t>(f) * nb + b])
        return InvalidArgumentError(
            "{}: edges: missing edge '{}' (full form lists all {} edges of cfg n_layers={} "
            "n_heads={} parallel_attn_mlp={}; file has {})",
            src, g.EdgeName(f, b), g.n_edges(), g.n_layers(), g.n_heads(),
            g.config().parallel_attn_mlp, doc.edges.size());
  }
  return Status::OK();
}

Status ReadCollapsedEdges(const Doc& doc, const GraphLayout& g, const std::string& src,
                          CollapsedCircuit* c) {
  std::vector<uint8_t> seen(c->edge_in.size(), 0);
  for (const EdgeRec& e : doc.edges) {
    int f, col;
    Status s = g.ParseCollapsedEdgeName(e.name, &f, &col);
    if (!s.ok())
      return InvalidArgumentError("{}: edges[\"{}\"]: {} (collapsed form)", src, e.name, s.message());
    if (seen[c->Index(f, col)])
      return InvalidArgumentError("{}: edges[\"{}\"]: duplicate key", src, e.name);
    seen[c->Index(f, col)] = 1;
    double score;
    bool in;
    FC_RETURN_IF_ERROR(ReadEdgeFields(e, src, &score, &in));
    if (in) c->Set(f, col, score);
  }
  return Status::OK();
}

}  // namespace

StatusOr<CircuitFile> ParseCircuitJson(std::string_view text, const std::string& source,
                                       const std::optional<GraphConfig>& expect) {
  Doc doc;
  {
    Reader reader(&doc);
    bool ok = false;
    try {
      ok = json::sax_parse(text.begin(), text.end(), &reader);
    } catch (const json::exception& e) {
      doc.parse_error = e.what();
    }
    if (!ok || !doc.parse_error.empty())
      return InvalidArgumentError("{}: not valid JSON (truncated?): {}", source,
                                  doc.parse_error.empty() ? "parse failed" : doc.parse_error);
  }
  if (doc.root.kind != Val::kObject)
    return InvalidArgumentError("{}: top level: expected an object, got {}", source, doc.root.Show());
  FC_ASSIGN_OR_RETURN(GraphConfig cfg, ReadCfg(doc, source));
  if (expect && *expect != cfg)
    return InvalidArgumentError(
        "{}: cfg: n_layers={} n_heads={} parallel_attn_mlp={} but the model expects n_layers={} "
        "n_heads={} parallel_attn_mlp={}",
        source, cfg.n_layers, cfg.n_heads, cfg.parallel_attn_mlp, expect->n_layers,
        expect->n_heads, expect->parallel_attn_mlp);
  GraphLayout g(cfg);
  if (doc.edges_kind.kind == Val::kMissing)
    return InvalidArgumentError("{}: edges: missing required object", source);
  if (doc.edges_kind.kind != Val::kObject)
    return InvalidArgumentError("{}: edges: expected an object, got {}", source, doc.edges_kind.Show());
  CircuitFile out;
  // Form: any destination with a <q|k|v> suffix means the full (uncollapsed) graph.
  out.is_collapsed = true;
  for (const EdgeRec& e : doc.edges)
    if (!e.name.empty() && e.name.back() == '>') {
      out.is_collapsed = false;
      break;
    }
  FC_ASSIGN_OR_RETURN(NodesRead nodes, ReadNodes(doc, g, source, !out.is_collapsed));
  out.dialect = nodes.dialect;
  if (out.is_collapsed) {
    out.collapsed = MakeEmptyCollapsed(cfg);
    out.collapsed.node_in = std::move(nodes.node_in);
    out.collapsed.node_scores = std::move(nodes.node_scores);
    FC_RETURN_IF_ERROR(ReadCollapsedEdges(doc, g, source, &out.collapsed));
  } else {
    FC_ASSIGN_OR_RETURN(out.full, MakeCircuit(EdgeScores(cfg)));
    out.full.node_in = std::move(nodes.node_in);
    out.full.node_scores = std::move(nodes.node_scores);
    FC_RETURN_IF_ERROR(ReadFullEdges(doc, g, source, &out.full));
  }
  return out;
}

}  // namespace fc::circuit
