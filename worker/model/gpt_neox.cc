// GPT-NeoX / Pythia, top to bottom: modules named exactly like HF's GPTNeoXForCausalLM (so
// named_parameters() are the safetensors names), attention with partial rotary, MLP, block
// (parallel or sequential residual), model. Shapes: B batch, P positions, H heads, Dh head dim,
// D model dim, F MLP dim, V vocab.
//
//   gpt_neox.embed_in.weight                                   [V, D]
//   gpt_neox.layers.N.input_layernorm.{weight,bias}            [D]
//   gpt_neox.layers.N.attention.query_key_value.{weight,bias}  [3D, D] laid out [H, 3, Dh, D]
//   gpt_neox.layers.N.attention.dense.{weight,bias}            [D, D]
//   gpt_neox.layers.N.post_attention_layernorm.{weight,bias}   [D]
//   gpt_neox.layers.N.mlp.dense_h_to_4h.{weight,bias}          [F, D]
//   gpt_neox.layers.N.mlp.dense_4h_to_h.{weight,bias}          [D, F]
//   gpt_neox.final_layer_norm.{weight,bias}                    [D]
//   embed_out.weight                                           [V, D] (untied, no bias)
#include "worker/model/gpt_neox.h"

#include "worker/model/layers.h"
#include "worker/model/linear.h"
#include "worker/model/tap_forward.h"

namespace fc::model {
namespace {

using internal::TapForward;

struct NeoxAttentionImpl : torch::nn::Module {
  NeoxAttentionImpl(const ModelConfig& c, torch::TensorOptions o)
      : query_key_value(register_module("query_key_value", Linear(c.d_model, 3 * c.d_model, true, o))),
        dense(register_module("dense", Linear(c.d_model, c.d_model, true, o))) {}
  Linear query_key_value;
  Linear dense;
};
TORCH_MODULE(NeoxAttention);

struct NeoxMlpImpl : torch::nn::Module {
  NeoxMlpImpl(const ModelConfig& c, torch::TensorOptions o)
      : dense_h_to_4h(register_module("dense_h_to_4h", Linear(c.d_model, c.d_mlp, true, o))),
        dense_4h_to_h(register_module("dense_4h_to_h", Linear(c.d_mlp, c.d_model, true, o))) {}
  Linear dense_h_to_4h;
  Linear dense_4h_to_h;
};
TORCH_MODULE(NeoxMlp);

struct NeoxLayerImpl : torch::nn::Module {
  NeoxLayerImpl(const ModelConfig& c, torch::TensorOptions o)
      : input_layernorm(register_module("input_layernorm", LayerNorm(c.d_model, c.layer_norm_eps, o))),
        post_attention_layernorm(register_module("post_attention_layernorm",
                                                 LayerNorm(c.d_model, c.layer_norm_eps, o))),
        attention(register_module("attention", NeoxAttention(c, o))),
        mlp(register_module("mlp", NeoxMlp(c, o))) {}
  LayerNorm input_layernorm;
  LayerNorm post_attention_layernorm;
  NeoxAttention attention;
  NeoxMlp mlp;
};
TORCH_MODULE(NeoxLayer);

struct NeoxBodyImpl : torch::nn::Module {
  NeoxBodyImpl(const ModelConfig& c, torch::TensorOptions o)
      : embed_in(register_module("embed_in", Embedding(c.vocab_size, c.d_model, o))),
        layers(register_module("layers", torch::nn::ModuleList())),
        final_layer_norm(register_module("final_layer_norm", LayerNorm(c.d_model, c.layer_norm_eps, o))) {
    for (int64_t l = 0; l < c.n_layers; ++l) layers->push_back(NeoxLayer(c, o));
  }
  Embedding embed_in;
  torch::nn::ModuleList layers;
  LayerNorm final_layer_norm;
};
TORCH_MODULE(NeoxBody);

struct NeoxRootImpl : torch::nn::Module {
  NeoxRootImpl(const ModelConfig& c, torch::TensorOptions o)
      : gpt_neox(register_module("gpt_neox", NeoxBody(c, o))) {
    if (!c.tie_word_embeddings) {
      embed_out = register_module("embed_out", Linear(c.d_model, c.vocab_size, false, o));
    }
  }
  NeoxBody gpt_neox;
  Linear embed_out{nullptr};  // null when tied to embed_in
};
TORCH_MODULE(NeoxRoot);

class GptNeoxLM : public CausalLM {
 public:
  GptNeoxLM(const ModelConfig& c, torch::TensorOptions o) : config_(c), root_(c, o) {
    for (int64_t l = 0; l < c.n_layers; ++l) {
      layers_.push_back(root_->gpt_neox->layers[l]->as<NeoxLayerImpl>());
    }
  }

  const ModelConfig& config() const override { return config_; }
  torch::nn::Module& module() override { return *root_; }

  torch::Tensor Embed(const torch::Tensor& ids) override {
    return root_->gpt_neox->embed_in(ids.to(root_->gpt_neox->embed_in->weight.device()));
  }

  torch::Tensor Forward(const torch::Tensor& ids, Taps* taps) override {
    return ForwardFromEmbeddings(Embed(ids), taps);  // [B,P,D]
  }

  torch::Tensor ForwardFromEmbeddings(const torch::Tensor& embeds, Taps* taps) override {
    TapForward tf(taps, config_);
    tf.Begin(embeds);
    const int64_t positions = embeds.size(1);
    auto [cos, sin] = RotaryTables(positions, config_.rotary_dim(), config_.rotary_base,
                                   embeds.device());  // [P, rd] each
    torch::Tensor x = embeds;  // residual stream [B,P,D]
    for (int64_t l = 0; l < config_.n_layers; ++l) {
      NeoxLayerImpl& layer = *layers_[l];
      torch::Tensor a = Attention(l, layer, x, cos, sin, tf);  // [B,P,D] incl. dense.bias
      if (config_.parallel_residual) {
        // x_out = x + Attn(LN1(x)) + MLP(LN2(x)): the MLP reads the block input.
        torch::Tensor m = Mlp(layer, tf.ResidInput(l, DestKind::kMlp, x));  // [B,P,D]
        tf.RecordMlp(l, m);
        x = x + a + m;
      } else {
        torch::Tensor mid = x + a;
        torch::Tensor m = Mlp(layer, tf.ResidInput(l, DestKind::kMlp, mid));
        tf.RecordMlp(l, m);
        x = mid + m;
      }
    }
    torch::Tensor final_in = tf.ResidInput(config_.n_layers, DestKind::kLogits, x);  // [B,P,D]
    tf.End();
    torch::Tensor h = root_->gpt_neox->final_layer_norm(final_in);
    if (config_.tie_word_embeddings) {
      return torch::matmul(h, root_->gpt_neox->embed_in->weight.t());  // [B,P,V]
    }
    return root_->embed_out(h);  // [B,P,V]
  }

  std::vector<std::pair<std::string, Linear>> NamedLinears() override {
    std::vector<std::pair<std::string, Linear>> out;
    for (int64_t l = 0; l < config_.n_layers; ++l) {
      const std::string p = "gpt_neox.layers." + std::to_string(l) + ".";
      out.emplace_back(p + "attention.query_key_value", layers_[l]->attention->query_key_value);
      out.emplace_back(p + "attention.dense", layers_[l]->attention->dense);
      out.emplace_back(p + "mlp.dense_h_to_4h", layers_[l]->mlp->dense_h_to_4h);
      out.emplace_back(p + "mlp.dense_4h_to_h", layers_[l]->mlp->dense_4h_to_h);
    }
    return out;
  }

  std::vector<std::pair<std::string, torch::Tensor>> NamedParameters() override {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& item : root_->named_parameters()) out.emplace_back(item.key(), item.value());
    return out;
  }

 private:
  // Attention of layer l on residual x [B,P,D]; returns sum of heads + dense.bias [B,P,D].
  torch::Tensor Attention(int64_t l, NeoxLayerImpl& layer, const torch::Tensor& x,
                          const torch::Tensor& cos, const torch::Tensor& sin, TapForward& tf) {
    const int64_t B = x.size(0), P = x.size(1), H = config_.n_heads, Dh = config_.d_head,
                  D = config_.d_model;
    NeoxAttentionImpl& attn = *layer.attention;
    torch::Tensor q, k, v;  // [B,P,H,Dh]
    torch::Tensor dq, dk, dv;
    if (!tf.NeedsPerHead(l, x, &dq, &dk, &dv)) {
      // Fused: one LayerNorm, one [3D, D] projection, split per head as [H, 3, Dh].
      torch::Tensor qkv = attn.query_key_value(layer.input_layernorm(x));  // [B,P,3D]
      qkv = qkv.view({B, P, H, 3 * Dh});
      q = qkv.narrow(-1, 0, Dh);
      k = qkv.narrow(-1, Dh, Dh);
      v = qkv.narrow(-1, 2 * Dh, Dh);
    } else {
      // Per head: each head's q, k, v reads its own copy of the residual (LayerNorm per copy).
      torch::Tensor w = attn.query_key_value->EffectiveWeight().view({H, 3, Dh, D});
      torch::Tensor b = attn.query_key_value->bias.view({H, 3, Dh});
      auto project = [&](DestKind kind, const torch::Tensor& delta, int64_t which) {
        torch::Tensor xin = tf.HeadInput(l, kind, x, delta);        // [B,P,H,D]
        torch::Tensor h = layer.input_layernorm(xin);               // [B,P,H,D]
        return torch::einsum("bphd,hed->bphe", {h, w.select(1, which)}) +
               b.select(1, which);                                  // [B,P,H,Dh]
      };
      q = project(DestKind::kQ, dq, 0);
      k = project(DestKind::kK, dk, 1);
      v = project(DestKind::kV, dv, 2);
    }
    q = ApplyRotary(q, cos, sin, config_.rotary_dim());
    k = ApplyRotary(k, cos, sin, config_.rotary_dim());
    torch::Tensor z = CausalSelfAttention(q, k, v);  // [B,P,H,Dh]
    if (!tf.capture()) return attn.dense(z.reshape({B, P, D}));
    // Per-head outputs through the head's slice of W_O, before the output bias.
    torch::Tensor wo = attn.dense->EffectiveWeight().view({D, H, Dh});
    torch::Tensor heads = torch::einsum("bphe,dhe->bphd", {z, wo});  // [B,P,H,D]
    tf.RecordHeads(l, heads);
    return heads.sum(2) + attn.dense->bias;
  }

  torch::Tensor Mlp(NeoxLayerImpl& layer, const torch::Tensor& x) {  // [B,P,D] -> [B,P,D]
    torch::Tensor h = layer.mlp->dense_h_to_4h(layer.post_attention_layernorm(x));  // [B,P,F]
    return layer.mlp->dense_4h_to_h(Gelu(h, config_.activation));
  }

  ModelConfig config_;
  NeoxRoot root_;
  std::vector<NeoxLayerImpl*> layers_;
};

}  // namespace

std::unique_ptr<CausalLM> NewGptNeox(const ModelConfig& config, torch::TensorOptions options) {
  return std::make_unique<GptNeoxLM>(config, options);
}

}  // namespace fc::model
