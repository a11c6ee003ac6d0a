// The EAP-IG computational graph of a transformer: nodes, edges, names and the dense index
// layout of algorithms.md 2.4. Pure C++ (no LibTorch); immutable after construction, so a
// GraphLayout may be shared by any number of threads.
//
// Nodes (algorithms.md 2.1), in "node order" = forward index order, then logits:
//   input, a0.h0 .. a0.h{H-1}, m0, a1.h0, ..., m{L-1}, logits
// node index == forward index for every node but logits, whose node index is n_forward().
//
// Destinations (backward indices): per layer l the q inputs of all heads, then k, then v, then
// the MLP input; finally logits. Edge (f, b) exists iff f < Prev(b) ("real edge mask").
//
// Edge insertion order (algorithms.md 2.2) is NOT the row- or column-major order of the dense
// matrix; selection breaks |score| ties by it, so EdgeOrder() gives it explicitly.
//
// Collapsed layout (q/k/v merged into one head destination, algorithms.md 4.4): collapsed
// destination index of head (l,h) = l(H+1)+h, of MLP l = l(H+1)+H, of logits = L(H+1), i.e.
// the forward index minus one for heads/MLPs. Collapsed edge (f, c) exists iff f < CollapsedPrev(c).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace fc::circuit {

struct GraphConfig {
  int n_layers = 0;
  int n_heads = 0;
  bool parallel_attn_mlp = false;  // GPT-NeoX/Pythia: true; GPT-2: false
  int d_model = 0;                 // only recorded in the [EAP-new] JSON cfg; 0 = unknown

  bool operator==(const GraphConfig& o) const {
    return n_layers == o.n_layers && n_heads == o.n_heads &&
           parallel_attn_mlp == o.parallel_attn_mlp;  // d_model is metadata, not topology
  }
  bool operator!=(const GraphConfig& o) const { return !(*this == o); }
};

// Checks n_layers >= 1, n_heads >= 1 and that the dense matrix fits int32 indexing.
Status ValidateGraphConfig(const GraphConfig& cfg);

enum class Qkv { kQ = 0, kK = 1, kV = 2 };

enum class NodeKind { kInput, kHead, kMlp, kLogits };

struct NodeInfo {
  NodeKind kind;
  int layer;  // -1 for input and logits
  int head;   // -1 unless kHead
};

struct DstInfo {
  NodeKind kind;  // kHead, kMlp or kLogits
  int layer;      // -1 for logits
  int head;       // -1 unless kHead
  Qkv qkv;        // meaningful only for kHead
};

// Closed forms of algorithms.md 2.3 (no enumeration; cheap for any size).
int64_t ClosedFormNodes(const GraphConfig& cfg);
int64_t ClosedFormEdges(const GraphConfig& cfg);
int64_t ClosedFormCollapsedEdges(const GraphConfig& cfg);

class GraphLayout {
 public:
  // cfg must satisfy ValidateGraphConfig (checked with assert; use Create for untrusted input).
  explicit GraphLayout(GraphConfig cfg);
  static StatusOr<GraphLayout> Create(GraphConfig cfg);

  const GraphConfig& config() const { return cfg_; }
  int n_layers() const { return cfg_.n_layers; }
  int n_heads() const { return cfg_.n_heads; }

  int n_forward() const { return 1 + cfg_.n_layers * (cfg_.n_heads + 1); }
  int n_backward() const { return cfg_.n_layers * (3 * cfg_.n_heads + 1) + 1; }
  int n_nodes() const { return n_forward() + 1; }
  int64_t n_edges() const { return n_edges_; }

  // ---- forward (source) indices
  int ForwardInput() const { return 0; }
  int ForwardHead(int l, int h) const { return 1 + l * (cfg_.n_heads + 1) + h; }
  int ForwardMlp(int l) const { return 1 + l * (cfg_.n_heads + 1) + cfg_.n_heads; }
  NodeInfo ForwardInfo(int f) const;

  // ---- backward (destination) indices
  int BackwardHead(int l, int h, Qkv q) const {
    return l * (3 * cfg_.n_heads + 1) + static_cast<int>(q) * cfg_.n_heads + h;
  }
  int BackwardMlp(int l) const { return l * (3 * cfg_.n_heads + 1) + 3 * cfg_.n_heads; }
  int BackwardLogits() const { return cfg_.n_layers * (3 * cfg_.n_heads + 1); }
  DstInfo BackwardInfo(int b) const;
  // Sources f < Prev(b) feed b: the real-edge mask.
  int Prev(int backward_index) const;
  bool IsEdge(int f, int b) const { return f >= 0 && b >= 0 && b < n_backward() && f < Prev(b); }

  // ---- node indices (node order; logits = n_forward())
  int NodeLogits() const { return n_forward(); }
  // Node index of a destination's node (q/k/v of a head all map to the head's node).
  int DstNode(int b) const;
  // Layer used by per-layer statistics: input -> 0, a{l}.h{h}/m{l} -> l, logits -> L-1.
  int NodeLayer(int node) const;

  // ---- names ([EAP-old]/[EAP-new] spelling)
  std::string ForwardName(int f) const;     // "input", "a3.h1", "m3"
  std::string NodeName(int node) const;     // ForwardName or "logits"
  std::string BackwardName(int b) const;    // "a3.h1<q>", "m3", "logits"
  std::string EdgeName(int f, int b) const; // "a0.h1->a3.h1<q>"
  // Parsers: -1 when the name is not a node / destination of this layout.
  int ParseForwardName(std::string_view name) const;
  int ParseNodeName(std::string_view name) const;
  int ParseBackwardName(std::string_view name) const;
  // "src->dst": fills f and b, or returns InvalidArgument naming what is wrong.
  Status ParseEdgeName(std::string_view name, int* f, int* b) const;

  // ---- edge insertion order (algorithms.md 2.2)
  // All edges as (f, b) in insertion order; size n_edges().
  std::vector<std::pair<int, int>> EdgeOrder() const;
  // Dense [n_forward x n_backward] row-major table of insertion indices, -1 where no edge.
  std::vector<int32_t> InsertionIndexTable() const;

  // ---- collapsed layout (q/k/v merged)
  int n_collapsed_backward() const { return n_forward(); }  // heads + MLPs + logits
  int64_t n_collapsed_edges() const { return n_collapsed_edges_; }
  int CollapsedHead(int l, int h) const { return ForwardHead(l, h) - 1; }
  int CollapsedMlp(int l) const { return ForwardMlp(l) - 1; }
  int CollapsedLogits() const { return n_forward() - 1; }
  int CollapsedOf(int b) const;   // backward -> collapsed destination index
  int CollapsedPrev(int c) const; // sources f < CollapsedPrev(c) feed c
  bool IsCollapsedEdge(int f, int c) const {
    return f >= 0 && c >= 0 && c < n_collapsed_backward() && f < CollapsedPrev(c);
  }
  int CollapsedDstNode(int c) const { return c + 1; }  // node index (logits -> n_forward)
  std::string CollapsedName(int c) const { return NodeName(CollapsedDstNode(c)); }
  std::string CollapsedEdgeName(int f, int c) const;  // "a0.h1->a3.h1"
  Status ParseCollapsedEdgeName(std::string_view name, int* f, int* c) const;
  // Collapsed edges in insertion order: for the first occurrence in EdgeOrder() of each merged
  // edge (i.e. 2.2's order with the q/k/v loop removed).
  std::vector<std::pair<int, int>> CollapsedEdgeOrder() const;

 private:
  GraphConfig cfg_;
  int64_t n_edges_ = 0;
  int64_t n_collapsed_edges_ = 0;
};

// Scores of every edge: dense float32 [n_forward x n_backward], row-major; entries with
// f >= Prev(b) are not edges and stay 0.
struct EdgeScores {
  GraphConfig cfg;
  std::vector<float> data;

  EdgeScores() = default;
  explicit EdgeScores(const GraphConfig& c);  // zero-filled, right size
  int n_backward() const { return cfg.n_layers * (3 * cfg.n_heads + 1) + 1; }
  float at(int f, int b) const { return data[static_cast<size_t>(f) * n_backward() + b]; }
  float& at(int f, int b) { return data[static_cast<size_t>(f) * n_backward() + b]; }
};

}  // namespace fc::circuit
