// LoadCausalLM / SaveCausalLM / CreateRandomCausalLM: the only code that maps in-memory
// parameters to safetensors names (GPT-2 name prefixes, Conv1D transposes, ignored buffers).
#include "worker/model/causal_lm.h"

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/ranges.h>

#include "worker/model/gpt2.h"
#include "worker/model/gpt_neox.h"
#include "worker/model/safetensors.h"

namespace fc::model {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// GPT-2 Conv1D weights are stored [in, out]; we hold [out, in].
bool IsTransposedInFile(const ModelConfig& c, const std::string& name) {
  if (c.arch != Arch::kGpt2) return false;
  return EndsWith(name, ".attn.c_attn.weight") || EndsWith(name, ".attn.c_proj.weight") ||
         EndsWith(name, ".mlp.c_fc.weight") || EndsWith(name, ".mlp.c_proj.weight");
}

// Names a parameter may have in a file, most likely first.
std::vector<std::string> FileNames(const ModelConfig& c, const std::string& name) {
  if (c.arch == Arch::kGpt2) {
    const std::string prefix = "transformer.";
    return {name, name.substr(prefix.size())};  // "transformer.h.0..." or bare "h.0..."
  }
  return {name};
}

// Tensors a real file may carry that are not parameters: attention mask buffers, rotary
// caches, and the tied GPT-2 lm_head copy.
bool IsIgnorableExtra(const ModelConfig& c, const std::string& name) {
  if (EndsWith(name, ".attn.bias") || EndsWith(name, ".attn.masked_bias") ||
      EndsWith(name, ".attention.bias") || EndsWith(name, ".attention.masked_bias") ||
      EndsWith(name, ".rotary_emb.inv_freq")) {
    return true;
  }
  if (c.arch == Arch::kGpt2 && name == "lm_head.weight") return true;
  if (c.arch == Arch::kGptNeox && c.tie_word_embeddings && name == "embed_out.weight") return true;
  return false;
}

StatusOr<std::unique_ptr<CausalLM>> NewModel(const ModelConfig& config,
                                             torch::TensorOptions options) {
  FC_RETURN_IF_ERROR(ValidateModelConfig(config, "model config"));
  try {
    switch (config.arch) {
      case Arch::kGptNeox: return NewGptNeox(config, options);
      case Arch::kGpt2: return NewGpt2(config, options);
    }
  } catch (const c10::Error& e) {
    return InternalError("cannot allocate the model on {} as {}: {}", options.device().str(),
                         std::string(c10::toString(options.dtype())), e.what_without_backtrace());
  }
  return InternalError("unknown architecture");
}

const char* HfDtypeName(torch::Dtype dtype) {
  if (dtype == torch::kBFloat16) return "bfloat16";
  if (dtype == torch::kFloat16) return "float16";
  return "float32";
}

bool IsLayerNormWeight(const std::string& name) {
  return EndsWith(name, ".weight") &&
         (name.find("layernorm") != std::string::npos || name.find("layer_norm") != std::string::npos ||
          name.find(".ln_") != std::string::npos);
}

}  // namespace

CausalLM::~CausalLM() = default;

torch::Device CausalLM::device() { return module().parameters().front().device(); }
torch::Dtype CausalLM::dtype() { return module().parameters().front().scalar_type(); }

StatusOr<std::unique_ptr<CausalLM>> LoadCausalLM(const std::string& hf_dir, torch::Device device,
                                                 torch::Dtype dtype) {
  namespace fs = std::filesystem;
  FC_ASSIGN_OR_RETURN(ModelConfig config, ReadModelConfig((fs::path(hf_dir) / "config.json").string()));
  FC_ASSIGN_OR_RETURN(auto checkpoint, SafetensorsCheckpoint::Open(hf_dir));
  FC_ASSIGN_OR_RETURN(auto model,
                      NewModel(config, torch::TensorOptions().device(device).dtype(dtype)));
  std::set<std::string> used;
  for (auto& [name, param] : model->NamedParameters()) {
    const SafetensorsFile* file = nullptr;
    const StTensorInfo* info = nullptr;
    std::string file_name;
    for (const std::string& candidate : FileNames(config, name)) {
      auto found = checkpoint->Find(candidate);
      if (found.ok()) {
        std::tie(file, info) = *found;
        file_name = candidate;
        break;
      }
    }
    if (file == nullptr) {
      return NotFoundError("{}: missing tensor '{}'", checkpoint->description(), name);
    }
    used.insert(file_name);
    std::vector<int64_t> want = param.sizes().vec();
    const bool transposed = IsTransposedInFile(config, name);
    if (transposed) std::reverse(want.begin(), want.end());
    if (info->shape != want) {
      return InvalidArgumentError("{}: tensor '{}' has shape {}, expected {}", file->path(),
                                  file_name, fmt::format("{}", fmt::join(info->shape, "x")),
                                  fmt::format("{}", fmt::join(want, "x")));
    }
    // One copy per tensor: transpose + dtype + device conversion together.
    FC_RETURN_IF_ERROR(file->LoadInto(file_name, param, transposed));
  }
  for (const std::string& name : checkpoint->Names()) {
    if (!used.count(name) && !IsIgnorableExtra(config, name)) {
      return InvalidArgumentError("{}: unexpected tensor '{}' for model_type {}",
                                  checkpoint->description(), name,
                                  config.arch == Arch::kGpt2 ? "gpt2" : "gpt_neox");
    }
  }
  model->module().eval();
  return model;
}

StatusOr<std::unique_ptr<CausalLM>> CreateRandomCausalLM(const ModelConfig& config, uint64_t seed,
                                                         torch::Device device, torch::Dtype dtype) {
  FC_ASSIGN_OR_RETURN(auto model,
                      NewModel(config, torch::TensorOptions().device(device).dtype(dtype)));
  // Drawn on the CPU in float32 in parameter order, so the weights do not depend on the device.
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const double std = config.initializer_range;
  torch::NoGradGuard no_grad;
  for (auto& [name, param] : model->NamedParameters()) {
    torch::Tensor r = at::normal(0.0, std, param.sizes(), gen,
                                 torch::TensorOptions().dtype(torch::kFloat32));
    if (IsLayerNormWeight(name)) r += 1.0;
    param.copy_(r);
  }
  model->module().eval();
  return model;
}

std::unique_ptr<CausalLM> CreateRandomCausalLM(const ModelConfig& config, uint64_t seed) {
  auto model = CreateRandomCausalLM(config, seed, torch::kCPU, torch::kFloat32);
  TORCH_CHECK(model.ok(), "CreateRandomCausalLM: ", model.status().ToString());
  return std::move(model).value();
}

Status SaveCausalLM(CausalLM& model, const std::string& hf_dir,
                    std::optional<torch::Dtype> file_dtype) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(hf_dir, ec);
  if (ec) return InternalError("{}: cannot create directory: {}", hf_dir, ec.message());
  const ModelConfig& config = model.config();
  NamedTensors tensors;
  try {
    torch::NoGradGuard no_grad;
    for (auto& [name, param] : model.NamedParameters()) {
      torch::Tensor t = param.detach();
      if (IsTransposedInFile(config, name)) t = t.t();
      t = t.to(torch::kCPU, file_dtype.value_or(param.scalar_type())).contiguous();
      tensors.emplace_back(name, t);
    }
  } catch (const c10::Error& e) {
    return InternalError("{}: cannot convert parameters: {}", hf_dir, e.what_without_backtrace());
  }
  FC_RETURN_IF_ERROR(WriteSafetensors((fs::path(hf_dir) / "model.safetensors").string(), tensors,
                                      {{"format", "pt"}}));
  nlohmann::json j = ModelConfigToJson(config);
  j["torch_dtype"] = HfDtypeName(file_dtype.value_or(model.dtype()));
  // A stale shard index would shadow the new model.safetensors on the next load.
  fs::remove(fs::path(hf_dir) / "model.safetensors.index.json", ec);
  const std::string path = (fs::path(hf_dir) / "config.json").string();
  std::ofstream out(path, std::ios::trunc);
  if (!out) return InternalError("{}: cannot create file", path);
  out << j.dump(2) << "\n";
  out.close();
  if (!out) return InternalError("{}: write failed", path);
  return Status::OK();
}

}  // namespace fc::model
