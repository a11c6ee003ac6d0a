#include "worker/finetune/peft_io.h"

#include <filesystem>

#include <fmt/ranges.h>

#include "worker/model/safetensors.h"

namespace fc::finetune {

namespace {

constexpr char kPrefix[] = "base_model.model.";

// Parses "base_model.model.<module>.lora_X[.default].weight" -> module, X.
bool ParseName(const std::string& name, std::string* module, char* which) {
  const std::string prefix = kPrefix;
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  for (const char* suffix : {".lora_A.weight", ".lora_B.weight", ".lora_A.default.weight", ".lora_B.default.weight"}) {
    const std::string s = suffix;
    if (name.size() > prefix.size() + s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      *module = name.substr(prefix.size(), name.size() - prefix.size() - s.size());
      *which = s[6];
      return true;
    }
  }
  return false;
}

Status CheckShapes(const std::string& where, const std::string& module, const AdapterTensors& t, int64_t r) {
  if (!t.A.defined() || !t.B.defined()) {
    return DataLossError("{}: module '{}' has lora_{} but not lora_{}", where, module, t.A.defined() ? 'A' : 'B',
                         t.A.defined() ? 'B' : 'A');
  }
  if (t.A.dim() != 2 || t.B.dim() != 2 || t.A.size(0) != r || t.B.size(1) != r) {
    return DataLossError("{}: module '{}' lora_A {} / lora_B {} do not match rank {} (expected [r,in] / [out,r])",
                         where, module, fmt::format("{}", fmt::join(t.A.sizes().vec(), ",")),
                         fmt::format("{}", fmt::join(t.B.sizes().vec(), ",")), r);
  }
  return Status::OK();
}

}  // namespace

std::string PeftTensorName(const std::string& module, char which) {
  return std::string(kPrefix) + module + ".lora_" + which + ".weight";
}

Status WritePeftAdapter(const PeftAdapter& adapter, const std::string& dir) {
  model::NamedTensors tensors;
  for (const auto& [module, t] : adapter.modules) {
    FC_RETURN_IF_ERROR(CheckShapes("adapter for " + dir, module, t, adapter.config.RankFor(module)));
    tensors.emplace_back(PeftTensorName(module, 'A'), t.A.detach());
    tensors.emplace_back(PeftTensorName(module, 'B'), t.B.detach());
  }
  FC_RETURN_IF_ERROR(WriteAdapterConfig(adapter.config, dir));
  return model::WriteSafetensors(dir + "/" + kAdapterWeightsFile, tensors, {{"format", "pt"}});
}

StatusOr<PeftAdapter> ReadPeftAdapter(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string st_path = dir + "/" + kAdapterWeightsFile;
  if (!fs::exists(st_path)) {
    const std::string bin = dir + "/adapter_model.bin";
    if (fs::exists(bin)) {
      return InvalidArgumentError(
          "'{}' is a pickled PyTorch file and is not readable here; save the adapter with "
          "safe_serialization=True (adapter_model.safetensors)", bin);
    }
    return NotFoundError("adapter weights '{}' not found", st_path);
  }
  PeftAdapter out;
  FC_ASSIGN_OR_RETURN(out.config, ReadAdapterConfig(dir));
  FC_ASSIGN_OR_RETURN(auto file, model::SafetensorsFile::Open(st_path));
  for (const auto& info : file->tensors()) {
    std::string module;
    char which = 0;
    if (!ParseName(info.name, &module, &which)) {
      return DataLossError("{}: tensor '{}' is not a LoRA weight (expected base_model.model.<module>.lora_A.weight)",
                           st_path, info.name);
    }
    FC_ASSIGN_OR_RETURN(torch::Tensor t, file->Load(info.name, torch::kCPU, torch::kFloat32));
    AdapterTensors& slot = out.modules[module];
    torch::Tensor& dst = which == 'A' ? slot.A : slot.B;
    if (dst.defined()) return DataLossError("{}: module '{}' has lora_{} twice", st_path, module, which);
    dst = t;
  }
  if (out.modules.empty()) return DataLossError("{}: no LoRA tensors", st_path);
  for (const auto& [module, t] : out.modules) {
    FC_RETURN_IF_ERROR(CheckShapes(st_path, module, t, out.config.RankFor(module)));
  }
  return out;
}

}  // namespace fc::finetune
