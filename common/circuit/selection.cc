#include "common/circuit/selection.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <queue>
#include <string>
#include <vector>

#include "common/circuit/prune.h"

namespace fc::circuit {

namespace {

float RankKey(float s, bool absolute) {
  if (std::isnan(s)) return -std::numeric_limits<float>::infinity();
  return absolute ? std::fabs(s) : s;
}

Status CheckShape(const GraphLayout& g, const Circuit& c) {
  if (c.cfg() != g.config())
    return InvalidArgumentError("selection: circuit has n_layers={} n_heads={}, layout {} / {}",
                                c.cfg().n_layers, c.cfg().n_heads, g.n_layers(), g.n_heads());
  return ValidateCircuit(c).WithContext("selection");
}

void Finish(const GraphLayout& g, bool prune, Circuit* c) {
  SetNodesFromEdges(g, c);
  if (prune) Prune(g, c);
}

}  // namespace

int64_t TopPercentCount(const GraphLayout& g, double fraction) {
  return static_cast<int64_t>(fraction * static_cast<double>(g.n_edges()));
}

Status SelectTopN(const GraphLayout& g, int64_t n, bool absolute, bool prune, Circuit* c) {
  FC_RETURN_IF_ERROR(CheckShape(g, *c));
  if (n < 0 || n > g.n_edges())
    return InvalidArgumentError("selection top-n: n must be in [0, {}] (number of edges), got {}",
                                g.n_edges(), n);
  const auto order = g.EdgeOrder();
  std::vector<float> key(order.size());
  for (size_t i = 0; i < order.size(); ++i)
    key[i] = RankKey(c->scores.at(order[i].first, order[i].second), absolute);
  std::vector<int32_t> idx(order.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int32_t>(i);
  // A strict total order, so the selected set is unique; nth_element keeps this O(|E|).
  auto better = [&](int32_t a, int32_t b) { return key[a] > key[b] || (key[a] == key[b] && a < b); };
  if (n < static_cast<int64_t>(idx.size()))
    std::nth_element(idx.begin(), idx.begin() + n, idx.end(), better);
  std::fill(c->edge_in.begin(), c->edge_in.end(), 0);
  const int nb = g.n_backward();
  for (int64_t i = 0; i < n; ++i) {
    auto [f, b] = order[idx[i]];
    c->edge_in[static_cast<size_t>(f) * nb + b] = 1;
  }
  Finish(g, prune, c);
  return Status::OK();
}

Status SelectThreshold(const GraphLayout& g, double tau, bool absolute, bool prune, Circuit* c) {
  FC_RETURN_IF_ERROR(CheckShape(g, *c));
  if (std::isnan(tau)) return InvalidArgumentError("selection threshold: tau is NaN");
  std::fill(c->edge_in.begin(), c->edge_in.end(), 0);
  const int nb = g.n_backward();
  for (int b = 0; b < nb; ++b) {
    for (int f = 0; f < g.Prev(b); ++f) {
      const float s = c->scores.at(f, b);
      if (std::isnan(s)) continue;
      const double k = absolute ? std::fabs(s) : s;
      if (k >= tau) c->edge_in[static_cast<size_t>(f) * nb + b] = 1;
    }
  }
  Finish(g, prune, c);
  return Status::OK();
}

Status SelectGreedy(const GraphLayout& g, int64_t n, bool absolute, bool prune, Circuit* c) {
  FC_RETURN_IF_ERROR(CheckShape(g, *c));
  if (n < 0 || n > g.n_edges())
    return InvalidArgumentError("selection greedy: n must be in [0, {}] (number of edges), got {}",
                                g.n_edges(), n);
  const auto ins = g.InsertionIndexTable();
  const int nb = g.n_backward();
  struct Cand {
    float key;
    int32_t ins;
    int f, b;
  };
  auto worse = [](const Cand& a, const Cand& b) {  // max-heap on (key, -ins)
    return a.key < b.key || (a.key == b.key && a.ins > b.ins);
  };
  std::priority_queue<Cand, std::vector<Cand>, decltype(worse)> heap(worse);
  auto push_parents_of = [&](int node) {
    auto push_column = [&](int b) {
      for (int f = 0; f < g.Prev(b); ++f)
        heap.push({RankKey(c->scores.at(f, b), absolute), ins[static_cast<size_t>(f) * nb + b], f, b});
    };
    if (node == g.NodeLogits()) {
      push_column(g.BackwardLogits());
      return;
    }
    NodeInfo info = g.ForwardInfo(node);
    if (info.kind == NodeKind::kMlp) push_column(g.BackwardMlp(info.layer));
    if (info.kind == NodeKind::kHead)
      for (int q = 0; q < 3; ++q) push_column(g.BackwardHead(info.layer, info.head, static_cast<Qkv>(q)));
  };
  std::fill(c->edge_in.begin(), c->edge_in.end(), 0);
  std::vector<uint8_t> reached(static_cast<size_t>(g.n_nodes()), 0);
  reached[g.NodeLogits()] = 1;
  push_parents_of(g.NodeLogits());
  for (int64_t taken = 0; taken < n && !heap.empty(); ++taken) {
    Cand top = heap.top();
    heap.pop();
    c->edge_in[static_cast<size_t>(top.f) * nb + top.b] = 1;
    if (!reached[top.f]) {
      reached[top.f] = 1;
      push_parents_of(top.f);
    }
  }
  Finish(g, prune, c);
  return Status::OK();
}

Status Select(const GraphLayout& g, const Selection& sel, Circuit* c) {
  switch (sel.kind) {
    case Selection::Kind::kTopN:
      if (sel.value != std::floor(sel.value))
        return InvalidArgumentError("selection top-n: n must be an integer, got {}", sel.value);
      return SelectTopN(g, static_cast<int64_t>(sel.value), sel.absolute, sel.prune, c);
    case Selection::Kind::kTopPercent:
      if (!(sel.value >= 0.0 && sel.value <= 1.0))
        return InvalidArgumentError("selection top-percent: fraction must be in [0, 1], got {}",
                                    sel.value);
      return SelectTopN(g, TopPercentCount(g, sel.value), sel.absolute, sel.prune, c);
    case Selection::Kind::kThreshold:
      return SelectThreshold(g, sel.value, sel.absolute, sel.prune, c);
    case Selection::Kind::kGreedy:
      if (sel.value != std::floor(sel.value))
        return InvalidArgumentError("selection greedy: n must be an integer, got {}", sel.value);
      return SelectGreedy(g, static_cast<int64_t>(sel.value), sel.absolute, sel.prune, c);
  }
  return InternalError("selection: unknown kind");
}

StatusOr<Selection> Selection::Parse(std::string_view text) {
  Selection sel;
  std::string_view rest = text;
  size_t comma = rest.find(',');
  std::string_view head = rest.substr(0, comma);
  while (comma != std::string_view::npos) {
    rest = rest.substr(comma + 1);
    comma = rest.find(',');
    std::string_view opt = rest.substr(0, comma);
    if (opt == "signed") sel.absolute = false;
    else if (opt == "noprune") sel.prune = false;
    else
      return InvalidArgumentError("selection '{}': unknown option '{}' (signed, noprune)", text, opt);
  }
  size_t colon = head.find(':');
  if (colon == std::string_view::npos)
    return InvalidArgumentError("selection '{}': expected KIND:VALUE (top, threshold, greedy)", text);
  std::string_view kind = head.substr(0, colon);
  std::string_view value = head.substr(colon + 1);
  bool percent = !value.empty() && value.back() == '%';
  if (percent) value.remove_suffix(1);
  std::string v(value);
  char* end = nullptr;
  double x = v.empty() ? std::nan("") : std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size() || std::isnan(x))
    return InvalidArgumentError("selection '{}': value '{}' is not a number", text, value);
  if (kind == "top") {
    if (percent) {
      sel.kind = Kind::kTopPercent;
      sel.value = x / 100.0;
      if (!(x >= 0 && x <= 100))
        return InvalidArgumentError("selection '{}': percentage must be in [0, 100]", text);
    } else {
      sel.kind = Kind::kTopN;
      sel.value = x;
      if (x < 0 || x != std::floor(x))
        return InvalidArgumentError("selection '{}': edge count must be a non-negative integer", text);
    }
  } else if (kind == "threshold" && !percent) {
    sel.kind = Kind::kThreshold;
    sel.value = x;
  } else if (kind == "greedy" && !percent) {
    sel.kind = Kind::kGreedy;
    sel.value = x;
    if (x < 0 || x != std::floor(x))
      return InvalidArgumentError("selection '{}': edge count must be a non-negative integer", text);
  } else {
    return InvalidArgumentError("selection '{}': unknown kind '{}' (top, threshold, greedy)", text,
                                head.substr(0, colon));
  }
  return sel;
}

std::string Selection::ToString() const {
  std::string s;
  switch (kind) {
    case Kind::kTopN: s = fmt::format("top:{}", static_cast<int64_t>(value)); break;
    case Kind::kTopPercent: s = fmt::format("top:{}%", value * 100.0); break;
    case Kind::kThreshold: s = fmt::format("threshold:{}", value); break;
    case Kind::kGreedy: s = fmt::format("greedy:{}", static_cast<int64_t>(value)); break;
  }
  if (!absolute) s += ",signed";
  if (!prune) s += ",noprune";
  return s;
}

}  // namespace fc::circuit
