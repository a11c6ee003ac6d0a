// Loading what a job works on: an HF model folder (config.json + safetensors + tokenizer.json),
// optionally with a fine-tuning checkpoint on top (algorithms.md 6.7):
//   * a PEFT adapter folder (adapter_config.json): loaded and merged into the base weights with
//     each module's own alpha/r from adapter_config.json (never a hard-coded scale);
//   * a full fine-tuning checkpoint (config.json): its weights replace the base's.
// Models are float32 on the job's device. Errors name the job param the folder came from.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "common/circuit/lora_modules.h"
#include "common/status.h"
#include "worker/jobs/job_params.h"
#include "worker/model/causal_lm.h"
#include "worker/tokenizer/tokenizer.h"

namespace fc::jobs {

struct LoadedModel {
  std::unique_ptr<model::CausalLM> model;
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::string weights_dir;     // folder the weights came from
  std::string tokenizer_path;  // tokenizer.json used
  std::string merged_adapter;  // adapter folder merged in ("" = none)
  int64_t pad_id = 0;          // tokenizer pad, else eos, else 0
};

// INVALID_ARGUMENT naming 'device' for a malformed name or CUDA without a GPU.
StatusOr<torch::Device> ParseTorchDevice(const JobParams& params, const std::string& name);

// Checks an HF folder: config.json parses and a safetensors file (or index) is present.
Status ValidateModelFolder(const JobParams& params, const std::string& param, const std::string& dir);

// `checkpoint_dir` may be empty.
StatusOr<LoadedModel> LoadModel(const JobParams& params, const std::string& model_param,
                                const std::string& model_dir, const std::string& checkpoint_dir,
                                torch::Device device);

// The shape common/circuit's LoRA planning needs.
circuit::ModelShape ShapeOf(const model::ModelConfig& config);
nlohmann::json ShapeToJson(const circuit::ModelShape& shape);
StatusOr<circuit::ModelShape> ShapeFromJson(const nlohmann::json& j, const std::string& source);

}  // namespace fc::jobs
