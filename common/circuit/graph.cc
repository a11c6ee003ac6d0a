#include "common/circuit/graph.h"

#include <cassert>
#include <charconv>
#include <limits>

namespace fc::circuit {

namespace {

// Parses a non-negative decimal without sign or leading zeros (names must match exactly).
bool ParseIndex(std::string_view s, int* out) {
  if (s.empty() || s.size() > 9) return false;
  if (s[0] < '0' || s[0] > '9') return false;  // from_chars would accept a '-'
  if (s.size() > 1 && s[0] == '0') return false;
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return false;
  *out = v;
  return true;
}

}  // namespace

Status ValidateGraphConfig(const GraphConfig& cfg) {
  if (cfg.n_layers < 1 || cfg.n_layers > 100000)
    return InvalidArgumentError("graph config field 'n_layers': must be >= 1, got {}", cfg.n_layers);
  if (cfg.n_heads < 1 || cfg.n_heads > 100000)
    return InvalidArgumentError("graph config field 'n_heads': must be >= 1, got {}", cfg.n_heads);
  if (cfg.d_model < 0)
    return InvalidArgumentError("graph config field 'd_model': must be >= 0, got {}", cfg.d_model);
  const int64_t nf = 1 + int64_t{cfg.n_layers} * (cfg.n_heads + 1);
  const int64_t nb = int64_t{cfg.n_layers} * (3 * int64_t{cfg.n_heads} + 1) + 1;
  if (nf * nb > std::numeric_limits<int32_t>::max())
    return InvalidArgumentError(
        "graph config n_layers={} n_heads={}: dense score matrix {}x{} is too large", cfg.n_layers,
        cfg.n_heads, nf, nb);
  return Status::OK();
}

int64_t ClosedFormNodes(const GraphConfig& cfg) {
  return int64_t{cfg.n_layers} * cfg.n_heads + cfg.n_layers + 2;
}

int64_t ClosedFormEdges(const GraphConfig& cfg) {
  const int64_t L = cfg.n_layers, H = cfg.n_heads;
  // E = (3H+1)(L + (H+1)L(L-1)/2) + 1 + L(H+1); sequential adds L*H (MLP l sees heads of l).
  int64_t e = (3 * H + 1) * (L + (H + 1) * L * (L - 1) / 2) + 1 + L * (H + 1);
  if (!cfg.parallel_attn_mlp) e += L * H;
  return e;
}

int64_t ClosedFormCollapsedEdges(const GraphConfig& cfg) {
  const int64_t L = cfg.n_layers, H = cfg.n_heads;
  int64_t e = (H + 1) * (L + (H + 1) * L * (L - 1) / 2) + 1 + L * (H + 1);
  if (!cfg.parallel_attn_mlp) e += L * H;
  return e;
}

GraphLayout::GraphLayout(GraphConfig cfg) : cfg_(cfg) {
  assert(ValidateGraphConfig(cfg).ok());
  n_edges_ = ClosedFormEdges(cfg_);
  n_collapsed_edges_ = ClosedFormCollapsedEdges(cfg_);
}

StatusOr<GraphLayout> GraphLayout::Create(GraphConfig cfg) {
  FC_RETURN_IF_ERROR(ValidateGraphConfig(cfg));
  return GraphLayout(cfg);
}

NodeInfo GraphLayout::ForwardInfo(int f) const {
  if (f == 0) return {NodeKind::kInput, -1, -1};
  const int l = (f - 1) / (cfg_.n_heads + 1);
  const int r = (f - 1) % (cfg_.n_heads + 1);
  if (r == cfg_.n_heads) return {NodeKind::kMlp, l, -1};
  return {NodeKind::kHead, l, r};
}

DstInfo GraphLayout::BackwardInfo(int b) const {
  if (b == BackwardLogits()) return {NodeKind::kLogits, -1, -1, Qkv::kQ};
  const int H = cfg_.n_heads;
  const int l = b / (3 * H + 1);
  const int r = b % (3 * H + 1);
  if (r == 3 * H) return {NodeKind::kMlp, l, -1, Qkv::kQ};
  return {NodeKind::kHead, l, r % H, static_cast<Qkv>(r / H)};
}

int GraphLayout::Prev(int b) const {
  if (b == BackwardLogits()) return n_forward();
  const int H = cfg_.n_heads;
  const int l = b / (3 * H + 1);
  const int r = b % (3 * H + 1);
  const int upstream = 1 + l * (H + 1);
  if (r < 3 * H || cfg_.parallel_attn_mlp) return upstream;
  return upstream + H;  // sequential: MLP l also reads the heads of layer l
}

int GraphLayout::DstNode(int b) const {
  DstInfo d = BackwardInfo(b);
  switch (d.kind) {
    case NodeKind::kHead: return ForwardHead(d.layer, d.head);
    case NodeKind::kMlp: return ForwardMlp(d.layer);
    default: return NodeLogits();
  }
}

int GraphLayout::NodeLayer(int node) const {
  if (node == 0) return 0;
  if (node == NodeLogits()) return cfg_.n_layers - 1;
  return ForwardInfo(node).layer;
}

std::string GraphLayout::ForwardName(int f) const {
  NodeInfo n = ForwardInfo(f);
  switch (n.kind) {
    case NodeKind::kInput: return "input";
    case NodeKind::kHead: return fmt::format("a{}.h{}", n.layer, n.head);
    default: return fmt::format("m{}", n.layer);
  }
}

std::string GraphLayout::NodeName(int node) const {
  return node == NodeLogits() ? std::string("logits") : ForwardName(node);
}

std::string GraphLayout::BackwardName(int b) const {
  DstInfo d = BackwardInfo(b);
  switch (d.kind) {
    case NodeKind::kHead: {
      static const char kSuffix[3] = {'q', 'k', 'v'};
      return fmt::format("a{}.h{}<{}>", d.layer, d.head, kSuffix[static_cast<int>(d.qkv)]);
    }
    case NodeKind::kMlp: return fmt::format("m{}", d.layer);
    default: return "logits";
  }
}

std::string GraphLayout::EdgeName(int f, int b) const {
  return ForwardName(f) + "->" + BackwardName(b);
}

int GraphLayout::ParseForwardName(std::string_view s) const {
  if (s == "input") return 0;
  if (s.size() >= 2 && s[0] == 'm') {
    int l;
    if (!ParseIndex(s.substr(1), &l) || l >= cfg_.n_layers) return -1;
    return ForwardMlp(l);
  }
  if (s.size() >= 5 && s[0] == 'a') {
    size_t dot = s.find(".h");
    if (dot == std::string_view::npos) return -1;
    int l, h;
    if (!ParseIndex(s.substr(1, dot - 1), &l) || !ParseIndex(s.substr(dot + 2), &h)) return -1;
    if (l >= cfg_.n_layers || h >= cfg_.n_heads) return -1;
    return ForwardHead(l, h);
  }
  return -1;
}

int GraphLayout::ParseNodeName(std::string_view s) const {
  if (s == "logits") return NodeLogits();
  return ParseForwardName(s);
}

int GraphLayout::ParseBackwardName(std::string_view s) const {
  if (s == "logits") return BackwardLogits();
  if (s.size() > 3 && s.back() == '>' && s[s.size() - 3] == '<') {
    const char c = s[s.size() - 2];
    Qkv q;
    if (c == 'q') q = Qkv::kQ;
    else if (c == 'k') q = Qkv::kK;
    else if (c == 'v') q = Qkv::kV;
    else return -1;
    int f = ParseForwardName(s.substr(0, s.size() - 3));
    if (f < 0) return -1;
    NodeInfo n = ForwardInfo(f);
    if (n.kind != NodeKind::kHead) return -1;
    return BackwardHead(n.layer, n.head, q);
  }
  int f = ParseForwardName(s);
  if (f <= 0) return -1;
  NodeInfo n = ForwardInfo(f);
  if (n.kind != NodeKind::kMlp) return -1;  // a head destination needs its <q|k|v> suffix
  return BackwardMlp(n.layer);
}

namespace {

Status SplitEdgeName(std::string_view name, std::string_view* src, std::string_view* dst) {
  size_t arrow = name.find("->");
  if (arrow == std::string_view::npos)
    return InvalidArgumentError("edge name '{}': missing '->'", name);
  *src = name.substr(0, arrow);
  *dst = name.substr(arrow + 2);
  return Status::OK();
}

}  // namespace

Status GraphLayout::ParseEdgeName(std::string_view name, int* f, int* b) const {
  std::string_view src, dst;
  FC_RETURN_IF_ERROR(SplitEdgeName(name, &src, &dst));
  *f = ParseForwardName(src);
  if (*f < 0)
    return InvalidArgumentError("edge name '{}': unknown source node '{}' (L={}, H={})", name, src,
                                cfg_.n_layers, cfg_.n_heads);
  *b = ParseBackwardName(dst);
  if (*b < 0)
    return InvalidArgumentError("edge name '{}': unknown destination '{}' (L={}, H={})", name, dst,
                                cfg_.n_layers, cfg_.n_heads);
  if (*f >= Prev(*b))
    return InvalidArgumentError("edge name '{}': not an edge of the graph ({} is not upstream of {})",
                                name, src, dst);
  return Status::OK();
}

std::vector<std::pair<int, int>> GraphLayout::EdgeOrder() const {
  const int L = cfg_.n_layers, H = cfg_.n_heads;
  std::vector<std::pair<int, int>> out;
  out.reserve(static_cast<size_t>(n_edges_));
  // R (the nodes already in the residual) is always the forward-index prefix [0, upstream).
  for (int l = 0; l < L; ++l) {
    const int upstream = 1 + l * (H + 1);
    for (int u = 0; u < upstream; ++u) {
      for (int h = 0; h < H; ++h)
        for (int q = 0; q < 3; ++q) out.emplace_back(u, BackwardHead(l, h, static_cast<Qkv>(q)));
      if (cfg_.parallel_attn_mlp) out.emplace_back(u, BackwardMlp(l));
    }
    if (!cfg_.parallel_attn_mlp)
      for (int u = 0; u < upstream + H; ++u) out.emplace_back(u, BackwardMlp(l));
  }
  for (int u = 0; u < n_forward(); ++u) out.emplace_back(u, BackwardLogits());
  return out;
}

std::vector<int32_t> GraphLayout::InsertionIndexTable() const {
  std::vector<int32_t> table(static_cast<size_t>(n_forward()) * n_backward(), -1);
  int32_t i = 0;
  for (auto [f, b] : EdgeOrder()) table[static_cast<size_t>(f) * n_backward() + b] = i++;
  return table;
}

int GraphLayout::CollapsedOf(int b) const { return DstNode(b) - 1; }

int GraphLayout::CollapsedPrev(int c) const {
  if (c == CollapsedLogits()) return n_forward();
  NodeInfo n = ForwardInfo(c + 1);
  if (n.kind == NodeKind::kHead) return Prev(BackwardHead(n.layer, n.head, Qkv::kQ));
  return Prev(BackwardMlp(n.layer));
}

std::string GraphLayout::CollapsedEdgeName(int f, int c) const {
  return ForwardName(f) + "->" + CollapsedName(c);
}

Status GraphLayout::ParseCollapsedEdgeName(std::string_view name, int* f, int* c) const {
  std::string_view src, dst;
  FC_RETURN_IF_ERROR(SplitEdgeName(name, &src, &dst));
  *f = ParseForwardName(src);
  if (*f < 0)
    return InvalidArgumentError("edge name '{}': unknown source node '{}' (L={}, H={})", name, src,
                                cfg_.n_layers, cfg_.n_heads);
  const int node = ParseNodeName(dst);
  if (node <= 0)
    return InvalidArgumentError(
        "edge name '{}': unknown collapsed destination '{}' (L={}, H={}; no <q|k|v> suffix here)",
        name, dst, cfg_.n_layers, cfg_.n_heads);
  *c = node - 1;
  if (*f >= CollapsedPrev(*c))
    return InvalidArgumentError("edge name '{}': not an edge of the graph ({} is not upstream of {})",
                                name, src, dst);
  return Status::OK();
}

std::vector<std::pair<int, int>> GraphLayout::CollapsedEdgeOrder() const {
  const int L = cfg_.n_layers, H = cfg_.n_heads;
  std::vector<std::pair<int, int>> out;
  out.reserve(static_cast<size_t>(n_collapsed_edges_));
  for (int l = 0; l < L; ++l) {
    const int upstream = 1 + l * (H + 1);
    for (int u = 0; u < upstream; ++u) {
      for (int h = 0; h < H; ++h) out.emplace_back(u, CollapsedHead(l, h));
      if (cfg_.parallel_attn_mlp) out.emplace_back(u, CollapsedMlp(l));
    }
    if (!cfg_.parallel_attn_mlp)
      for (int u = 0; u < upstream + H; ++u) out.emplace_back(u, CollapsedMlp(l));
  }
  for (int u = 0; u < n_forward(); ++u) out.emplace_back(u, CollapsedLogits());
  return out;
}

EdgeScores::EdgeScores(const GraphConfig& c)
    : cfg(c),
      data(static_cast<size_t>(1 + c.n_layers * (c.n_heads + 1)) *
               (c.n_layers * (3 * c.n_heads + 1) + 1),
           0.0f) {}

}  // namespace fc::circuit
