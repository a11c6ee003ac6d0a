#include "worker/model/taps.h"

namespace fc::model {

torch::Tensor Taps::StackOutputs(int64_t n) const {
  TORCH_CHECK(n >= 1, "Taps::StackOutputs: n must be >= 1, got ", n);
  TORCH_CHECK(embed_out.defined(), "Taps::StackOutputs: no captured outputs");
  std::vector<torch::Tensor> parts;
  parts.push_back(embed_out.unsqueeze(2));  // [B,P,1,D]
  int64_t have = 1;
  for (size_t l = 0; have < n; ++l) {
    TORCH_CHECK(l < head_out.size() && head_out[l].defined(),
                "Taps::StackOutputs: source ", have, " not computed yet");
    const int64_t heads = head_out[l].size(2);
    const int64_t take = std::min<int64_t>(heads, n - have);
    parts.push_back(take == heads ? head_out[l] : head_out[l].narrow(2, 0, take));
    have += take;
    if (have < n) {
      TORCH_CHECK(l < mlp_out.size() && mlp_out[l].defined(),
                  "Taps::StackOutputs: source ", have, " not computed yet");
      parts.push_back(mlp_out[l].unsqueeze(2));
      have += 1;
    }
  }
  return parts.size() == 1 ? parts[0] : torch::cat(parts, 2);
}

const torch::Tensor& Taps::Input(int64_t layer, DestKind kind) const {
  static const torch::Tensor kUndefined;
  const std::vector<torch::Tensor>* v = nullptr;
  switch (kind) {
    case DestKind::kQ: v = &q_in; break;
    case DestKind::kK: v = &k_in; break;
    case DestKind::kV: v = &v_in; break;
    case DestKind::kMlp: v = &mlp_in; break;
    case DestKind::kLogits: return logits_in;
  }
  if (layer < 0 || static_cast<size_t>(layer) >= v->size()) return kUndefined;
  return (*v)[layer];
}

void Taps::ClearResults() {
  embed_out = torch::Tensor();
  head_out.clear();
  mlp_out.clear();
  outputs = torch::Tensor();
  q_in.clear();
  k_in.clear();
  v_in.clear();
  mlp_in.clear();
  logits_in = torch::Tensor();
}

}  // namespace fc::model
