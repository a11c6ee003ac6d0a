// GPT-2, top to bottom: modules named exactly like HF's GPT2LMHeadModel (root "transformer"),
// attention with packed q|k|v, MLP, sequential pre-LN block, model with learned positions and
// the unembedding tied to wte. Shapes: B batch, P positions, H heads, Dh head dim, D model dim,
// F MLP dim, V vocab, N max positions.
//
//   transformer.wte.weight                     [V, D]
//   transformer.wpe.weight                     [N, D]
//   transformer.h.N.ln_1.{weight,bias}         [D]
//   transformer.h.N.attn.c_attn.{weight,bias}  file Conv1D [D, 3D]; here [3D, D] = [3(q,k,v), H, Dh, D]
//   transformer.h.N.attn.c_proj.{weight,bias}  file [D, D] (transposed here)
//   transformer.h.N.ln_2.{weight,bias}         [D]
//   transformer.h.N.mlp.c_fc.{weight,bias}     file [D, F]; here [F, D]
//   transformer.h.N.mlp.c_proj.{weight,bias}   file [F, D]; here [D, F]
//   transformer.ln_f.{weight,bias}             [D]
// Files may use bare names ("h.0.attn...") and carry attn.bias / attn.masked_bias buffers and a
// redundant lm_head.weight; causal_lm.cc handles those when loading.
#include "worker/model/gpt2.h"

#include "worker/model/layers.h"
#include "worker/model/linear.h"
#include "worker/model/tap_forward.h"

namespace fc::model {
namespace {

using internal::TapForward;

struct Gpt2AttentionImpl : torch::nn::Module {
  Gpt2AttentionImpl(const ModelConfig& c, torch::TensorOptions o)
      : c_attn(register_module("c_attn", Linear(c.d_model, 3 * c.d_model, true, o))),
        c_proj(register_module("c_proj", Linear(c.d_model, c.d_model, true, o))) {}
  Linear c_attn;
  Linear c_proj;
};
TORCH_MODULE(Gpt2Attention);

struct Gpt2MlpImpl : torch::nn::Module {
  Gpt2MlpImpl(const ModelConfig& c, torch::TensorOptions o)
      : c_fc(register_module("c_fc", Linear(c.d_model, c.d_mlp, true, o))),
        c_proj(register_module("c_proj", Linear(c.d_mlp, c.d_model, true, o))) {}
  Linear c_fc;
  Linear c_proj;
};
TORCH_MODULE(Gpt2Mlp);

struct Gpt2BlockImpl : torch::nn::Module {
  Gpt2BlockImpl(const ModelConfig& c, torch::TensorOptions o)
      : ln_1(register_module("ln_1", LayerNorm(c.d_model, c.layer_norm_eps, o))),
        attn(register_module("attn", Gpt2Attention(c, o))),
        ln_2(register_module("ln_2", LayerNorm(c.d_model, c.layer_norm_eps, o))),
        mlp(register_module("mlp", Gpt2Mlp(c, o))) {}
  LayerNorm ln_1;
  Gpt2Attention attn;
  LayerNorm ln_2;
  Gpt2Mlp mlp;
};
TORCH_MODULE(Gpt2Block);

struct Gpt2BodyImpl : torch::nn::Module {
  Gpt2BodyImpl(const ModelConfig& c, torch::TensorOptions o)
      : wte(register_module("wte", Embedding(c.vocab_size, c.d_model, o))),
        wpe(register_module("wpe", Embedding(c.max_positions, c.d_model, o))),
        h(register_module("h", torch::nn::ModuleList())),
        ln_f(register_module("ln_f", LayerNorm(c.d_model, c.layer_norm_eps, o))) {
    for (int64_t l = 0; l < c.n_layers; ++l) h->push_back(Gpt2Block(c, o));
  }
  Embedding wte;
  Embedding wpe;
  torch::nn::ModuleList h;
  LayerNorm ln_f;
};
TORCH_MODULE(Gpt2Body);

struct Gpt2RootImpl : torch::nn::Module {
  Gpt2RootImpl(const ModelConfig& c, torch::TensorOptions o)
      : transformer(register_module("transformer", Gpt2Body(c, o))) {}
  Gpt2Body transformer;
};
TORCH_MODULE(Gpt2Root);

class Gpt2LM : public CausalLM {
 public:
  Gpt2LM(const ModelConfig& c, torch::TensorOptions o) : config_(c), root_(c, o) {
    for (int64_t l = 0; l < c.n_layers; ++l) {
      blocks_.push_back(root_->transformer->h[l]->as<Gpt2BlockImpl>());
    }
  }

  const ModelConfig& config() const override { return config_; }
  torch::nn::Module& module() override { return *root_; }

  torch::Tensor Embed(const torch::Tensor& ids) override {
    return root_->transformer->wte(ids.to(root_->transformer->wte->weight.device()));  // [B,P,D]
  }

  torch::Tensor Forward(const torch::Tensor& ids, Taps* taps) override {
    return ForwardFromEmbeddings(Embed(ids), taps);
  }

  torch::Tensor ForwardFromEmbeddings(const torch::Tensor& embeds, Taps* taps) override {
    TapForward tf(taps, config_);
    tf.Begin(embeds);
    const int64_t positions = embeds.size(1);
    TORCH_CHECK(positions <= config_.max_positions, "gpt2: sequence length ", positions,
                " exceeds n_positions ", config_.max_positions);
    torch::Tensor pos = root_->transformer->wpe->weight.narrow(0, 0, positions);  // [P,D]
    torch::Tensor x = embeds + pos.unsqueeze(0);  // residual stream [B,P,D]
    for (int64_t l = 0; l < config_.n_layers; ++l) {
      Gpt2BlockImpl& block = *blocks_[l];
      torch::Tensor mid = x + Attention(l, block, x, tf);                  // [B,P,D]
      torch::Tensor m = Mlp(block, tf.ResidInput(l, DestKind::kMlp, mid));  // [B,P,D]
      tf.RecordMlp(l, m);
      x = mid + m;
    }
    torch::Tensor final_in = tf.ResidInput(config_.n_layers, DestKind::kLogits, x);
    tf.End();
    torch::Tensor h = root_->transformer->ln_f(final_in);            // [B,P,D]
    return torch::matmul(h, root_->transformer->wte->weight.t());    // [B,P,V] tied lm_head
  }

  std::vector<std::pair<std::string, Linear>> NamedLinears() override {
    std::vector<std::pair<std::string, Linear>> out;
    for (int64_t l = 0; l < config_.n_layers; ++l) {
      const std::string p = "transformer.h." + std::to_string(l) + ".";
      out.emplace_back(p + "attn.c_attn", blocks_[l]->attn->c_attn);
      out.emplace_back(p + "attn.c_proj", blocks_[l]->attn->c_proj);
      out.emplace_back(p + "mlp.c_fc", blocks_[l]->mlp->c_fc);
      out.emplace_back(p + "mlp.c_proj", blocks_[l]->mlp->c_proj);
    }
    return out;
  }

  std::vector<std::pair<std::string, torch::Tensor>> NamedParameters() override {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& item : root_->named_parameters()) out.emplace_back(item.key(), item.value());
    return out;
  }

 private:
  // Attention of layer l on residual x [B,P,D]; returns sum of heads + c_proj.bias [B,P,D].
  torch::Tensor Attention(int64_t l, Gpt2BlockImpl& block, const torch::Tensor& x, TapForward& tf) {
    const int64_t B = x.size(0), P = x.size(1), H = config_.n_heads, Dh = config_.d_head,
                  D = config_.d_model;
    Gpt2AttentionImpl& attn = *block.attn;
    torch::Tensor q, k, v;  // [B,P,H,Dh]
    torch::Tensor dq, dk, dv;
    if (!tf.NeedsPerHead(l, x, &dq, &dk, &dv)) {
      torch::Tensor qkv = attn.c_attn(block.ln_1(x));  // [B,P,3D] = q | k | v
      q = qkv.narrow(-1, 0, D).view({B, P, H, Dh});
      k = qkv.narrow(-1, D, D).view({B, P, H, Dh});
      v = qkv.narrow(-1, 2 * D, D).view({B, P, H, Dh});
    } else {
      torch::Tensor w = attn.c_attn->EffectiveWeight().view({3, H, Dh, D});
      torch::Tensor b = attn.c_attn->bias.view({3, H, Dh});
      auto project = [&](DestKind kind, const torch::Tensor& delta, int64_t which) {
        torch::Tensor xin = tf.HeadInput(l, kind, x, delta);  // [B,P,H,D]
        torch::Tensor h = block.ln_1(xin);                    // [B,P,H,D]
        return torch::einsum("bphd,hed->bphe", {h, w[which]}) + b[which];  // [B,P,H,Dh]
      };
      q = project(DestKind::kQ, dq, 0);
      k = project(DestKind::kK, dk, 1);
      v = project(DestKind::kV, dv, 2);
    }
    torch::Tensor z = CausalSelfAttention(q, k, v);  // [B,P,H,Dh]
    if (!tf.capture()) return attn.c_proj(z.reshape({B, P, D}));
    torch::Tensor wo = attn.c_proj->EffectiveWeight().view({D, H, Dh});
    torch::Tensor heads = torch::einsum("bphe,dhe->bphd", {z, wo});  // [B,P,H,D] pre bias
    tf.RecordHeads(l, heads);
    return heads.sum(2) + attn.c_proj->bias;
  }

  torch::Tensor Mlp(Gpt2BlockImpl& block, const torch::Tensor& x) {  // [B,P,D] -> [B,P,D]
    torch::Tensor h = block.mlp->c_fc(block.ln_2(x));  // [B,P,F]
    return block.mlp->c_proj(Gelu(h, config_.activation));
  }

  ModelConfig config_;
  Gpt2Root root_;
  std::vector<Gpt2BlockImpl*> blocks_;
};

}  // namespace

std::unique_ptr<CausalLM> NewGpt2(const ModelConfig& config, torch::TensorOptions options) {
  return std::make_unique<Gpt2LM>(config, options);
}

}  // namespace fc::model
