// GPT-2 causal LM, HF GPT2LMHeadModel-compatible (tied lm_head). See gpt2.cc.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "worker/model/causal_lm.h"
#include "worker/model/config.h"

namespace fc::model {

// Parameters are allocated uninitialised with `options` (device + dtype); callers fill them.
std::unique_ptr<CausalLM> NewGpt2(const ModelConfig& config, torch::TensorOptions options);

}  // namespace fc::model
