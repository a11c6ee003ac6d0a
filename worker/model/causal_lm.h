// CausalLM: a decoder-only transformer (GPT-NeoX or GPT-2) with HF-compatible weights.
//
// Forward(ids [B,P] int64) -> logits [B,P,V] in the model's dtype. Causal attention only: use
// right padding (real positions never attend to later pads). Parameters are requires_grad(false)
// after Load/Create; training code enables what it trains. module() is the root torch module
// whose named_parameters() are exactly the HF names of model.safetensors (for GPT-2 with the
// "transformer." prefix); GPT-2 Conv1D weights are held transposed ([out,in]) in memory and
// transposed back on save. Attention scores/softmax and LayerNorm statistics run in float32.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "worker/model/config.h"
#include "worker/model/linear.h"
#include "worker/model/taps.h"

namespace fc::model {

class CausalLM {
 public:
  virtual ~CausalLM();
  virtual const ModelConfig& config() const = 0;
  // ids: [B,P] int64 (any device; moved to the model's) -> logits [B,P,V].
  virtual torch::Tensor Forward(const torch::Tensor& ids, Taps* taps = nullptr) = 0;
  // Same, starting from token embeddings [B,P,D] (EAP-IG interpolates them); GPT-2 positions are
  // added inside. taps->embed_out is `embeds` itself.
  virtual torch::Tensor ForwardFromEmbeddings(const torch::Tensor& embeds,
                                              Taps* taps = nullptr) = 0;
  virtual torch::Tensor Embed(const torch::Tensor& ids) = 0;  // [B,P,D] token embedding only
  // HF module name -> layer, e.g. "gpt_neox.layers.3.attention.query_key_value",
  // "transformer.h.0.attn.c_attn", in model order. The unembedding is not listed.
  virtual std::vector<std::pair<std::string, Linear>> NamedLinears() = 0;
  // HF parameter name -> tensor (module().named_parameters()), in model order. GPT-2 Conv1D
  // weights are the in-memory [out,in] tensors (the file holds their transpose).
  virtual std::vector<std::pair<std::string, torch::Tensor>> NamedParameters() = 0;
  virtual torch::nn::Module& module() = 0;  // train()/eval()/to()

  torch::Device device();
  torch::Dtype dtype();
};

// Loads hf_dir/config.json and hf_dir/model.safetensors (or the sharded index). Every parameter
// is created on `device` in `dtype` and filled from the mapped file in one conversion copy.
// Missing tensor / wrong shape -> error naming the file and the tensor. Extra tensors that are
// known buffers (attn.bias, attn.masked_bias, rotary_emb.inv_freq) are ignored; other unknown
// tensors -> INVALID_ARGUMENT (a sign of the wrong architecture).
StatusOr<std::unique_ptr<CausalLM>> LoadCausalLM(const std::string& hf_dir, torch::Device device,
                                                 torch::Dtype dtype);
// An untrained model, float32 on CPU; same (config, seed) -> identical weights on any machine.
// Weights ~ N(0, initializer_range); biases ~ N(0, initializer_range); LayerNorm weight 1 + that.
std::unique_ptr<CausalLM> CreateRandomCausalLM(const ModelConfig& config, uint64_t seed);
// Same, but on `device` in `dtype`, or an error for an invalid config.
StatusOr<std::unique_ptr<CausalLM>> CreateRandomCausalLM(const ModelConfig& config, uint64_t seed,
                                                         torch::Device device, torch::Dtype dtype);
// Writes hf_dir/config.json and hf_dir/model.safetensors (created if missing) in `file_dtype`
// (default: the model's dtype). The tokenizer.json is the caller's business.
Status SaveCausalLM(CausalLM& model, const std::string& hf_dir,
                    std::optional<torch::Dtype> file_dtype = std::nullopt);

}  // namespace fc::model
