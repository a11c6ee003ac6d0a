// PEFT adapter folders: adapter_config.json + adapter_model.safetensors, the layout HF peft's
// save_pretrained writes and PeftModel.from_pretrained reads.
//
// Tensor names: "base_model.model.<module>.lora_A.weight" [r, in] and ".lora_B.weight" [out, r]
// for every adapted module (peft strips the adapter name "default" when saving). On read the
// ".lora_A.default.weight" form (written by some tools / older peft) is accepted too. A folder
// holding only adapter_model.bin (a pickle) is rejected naming that file: it cannot be read
// without Python. GPT-2 Conv1D targets keep the same A/B shapes; peft's fan_in_fan_out only
// transposes the merged delta, which our [out, in] weights never need (docs/finetune.md).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/status.h"
#include "worker/finetune/adapter_config.h"

namespace fc::finetune {

struct AdapterTensors {
  torch::Tensor A;  // [r, in]
  torch::Tensor B;  // [out, r]
};

struct PeftAdapter {
  AdapterConfig config;
  std::map<std::string, AdapterTensors> modules;  // HF module name -> A, B
};

std::string PeftTensorName(const std::string& module, char which);  // which = 'A' or 'B'

// Writes <dir>/adapter_config.json and <dir>/adapter_model.safetensors (dir must exist).
// Every module's shapes are checked against the config's rank for it.
Status WritePeftAdapter(const PeftAdapter& adapter, const std::string& dir);
// Reads both files onto the CPU in float32; validates names, pairs and ranks.
StatusOr<PeftAdapter> ReadPeftAdapter(const std::string& dir);

}  // namespace fc::finetune
