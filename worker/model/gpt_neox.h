// GPT-NeoX (Pythia) causal LM, HF GPTNeoXForCausalLM-compatible. See gpt_neox.cc.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "worker/model/causal_lm.h"
#include "worker/model/config.h"

namespace fc::model {

// Parameters are allocated uninitialised with `options` (device + dtype); callers fill them.
std::unique_ptr<CausalLM> NewGptNeox(const ModelConfig& config, torch::TensorOptions options);

}  // namespace fc::model
