#include "worker/attribution/patched_forward.h"

#include <cstring>

#include "worker/attribution/graph_of_model.h"

namespace fc::attribution {

using model::DestKind;
using model::Taps;

CircuitMask MaskOf(const circuit::Circuit& circuit) {
  const circuit::GraphLayout layout(circuit.cfg());
  CircuitMask mask;
  mask.edges = torch::zeros({layout.n_forward(), layout.n_backward()}, torch::kBool);
  std::memcpy(mask.edges.data_ptr<bool>(), circuit.edge_in.data(),
              std::min<size_t>(circuit.edge_in.size(), mask.edges.numel()));
  mask.edges = mask.edges.ne(false);  // any nonzero byte -> true
  if (!circuit.node_in.empty()) {
    mask.nodes = torch::zeros({layout.n_nodes()}, torch::kBool);
    std::memcpy(mask.nodes.data_ptr<bool>(), circuit.node_in.data(),
                std::min<size_t>(circuit.node_in.size(), mask.nodes.numel()));
    mask.nodes = mask.nodes.ne(false);
  }
  return mask;
}

CircuitMask FullCircuitMask(const circuit::GraphLayout& layout) {
  return {RealEdgeMask(layout), torch::ones({layout.n_nodes()}, torch::kBool)};
}

CircuitMask EmptyCircuitMask(const circuit::GraphLayout& layout) {
  return {torch::zeros({layout.n_forward(), layout.n_backward()}, torch::kBool),
          torch::zeros({layout.n_nodes()}, torch::kBool)};
}

StatusOr<torch::Tensor> EffectiveEdgeMask(const circuit::GraphLayout& layout,
                                          const CircuitMask& mask) {
  const int nf = layout.n_forward(), nb = layout.n_backward();
  if (!mask.edges.defined() || mask.edges.dim() != 2 || mask.edges.size(0) != nf ||
      mask.edges.size(1) != nb) {
    return InvalidArgumentError("circuit mask field 'edges': must be [{}, {}] bool", nf, nb);
  }
  torch::Tensor kept = mask.edges.to(torch::kCPU).ne(0).logical_and(RealEdgeMask(layout));
  if (mask.nodes.defined()) {
    if (mask.nodes.dim() != 1 || mask.nodes.size(0) != layout.n_nodes()) {
      return InvalidArgumentError("circuit mask field 'nodes': must be [{}] bool",
                                  layout.n_nodes());
    }
    torch::Tensor nodes = mask.nodes.to(torch::kCPU).ne(0);
    torch::Tensor dst_node = torch::empty({nb}, torch::kLong);
    for (int b = 0; b < nb; ++b) dst_node[b] = layout.DstNode(b);
    torch::Tensor src_in = nodes.narrow(0, 0, nf).view({nf, 1});
    torch::Tensor dst_in = nodes.index_select(0, dst_node).view({1, nb});
    kept = kept.logical_and(src_in).logical_and(dst_in);
  }
  return kept;
}

StatusOr<torch::Tensor> PatchedForward(model::CausalLM& model, const circuit::GraphLayout& layout,
                                       const torch::Tensor& clean_ids,
                                       const torch::Tensor& corrupted_outputs,
                                       const torch::Tensor& kept) {
  const int nf = layout.n_forward();
  const int64_t h = layout.n_heads();
  if (!corrupted_outputs.defined() || corrupted_outputs.dim() != 4 ||
      corrupted_outputs.size(2) != nf) {
    return InvalidArgumentError("patched forward: corrupted outputs must be [B,P,{},D]", nf);
  }
  torch::NoGradGuard no_grad;
  try {
    // 1 where an edge is NOT in the circuit (reads the corrupted output), in the model dtype.
    torch::Tensor patch = RealEdgeMask(layout).logical_and(kept.logical_not())
                              .to(corrupted_outputs.options());  // [F, n_backward]
    torch::Tensor patch_cpu = patch.to(torch::kCPU, torch::kFloat);
    const int logits_col = layout.BackwardLogits();
    int64_t cached_prev = -1;
    torch::Tensor cached_diff;  // [B,P,prev,D]: out_corr - out_actual over the first prev sources
    auto diff_for = [&](const Taps& t, int64_t prev) -> const torch::Tensor& {
      if (prev != cached_prev) {
        cached_diff = corrupted_outputs.narrow(2, 0, prev) - t.StackOutputs(prev);
        cached_prev = prev;
      }
      return cached_diff;
    };
    Taps taps;
    taps.input_delta = [&](const Taps& t, int64_t layer, DestKind kind) -> torch::Tensor {
      int col = logits_col;
      int64_t width = 1;
      if (kind == DestKind::kQ || kind == DestKind::kK || kind == DestKind::kV) {
        col = layout.BackwardHead(static_cast<int>(layer), 0,
                                  static_cast<circuit::Qkv>(static_cast<int>(kind)));
        width = h;
      } else if (kind == DestKind::kMlp) {
        col = layout.BackwardMlp(static_cast<int>(layer));
      }
      const int64_t prev = layout.Prev(col);
      if (!patch_cpu.narrow(0, 0, prev).narrow(1, col, width).any().item<bool>()) {
        return torch::Tensor();  // every parent edge is in the circuit
      }
      const torch::Tensor& diff = diff_for(t, prev);
      torch::Tensor w = patch.narrow(0, 0, prev).narrow(1, col, width);  // [prev, width]
      if (width == 1) return torch::einsum("bpfd,f->bpd", {diff, w.squeeze(1)});
      return torch::einsum("bpfd,fh->bphd", {diff, w});
    };
    return model.Forward(clean_ids, &taps);
  } catch (const c10::Error& e) {
    return InternalError("patched forward: LibTorch error: {}", e.what_without_backtrace());
  }
}

}  // namespace fc::attribution
