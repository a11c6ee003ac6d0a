#include "worker/jobs/loaded_model.h"

#include <filesystem>

#include "worker/finetune/lora.h"
#include "worker/jobs/job_io.h"
#include "worker/model/config.h"

namespace fc::jobs {

StatusOr<torch::Device> ParseTorchDevice(const JobParams& params, const std::string& name) {
  try {
    torch::Device d(name);
    if (d.is_cuda() && !torch::cuda::is_available()) {
      return params.Invalid("device", fmt::format("'{}' asked for, but this worker has no CUDA device", name));
    }
    return d;
  } catch (const c10::Error&) {
    return params.Invalid("device", fmt::format("'{}' is not a device (cpu, cuda or cuda:N)", name));
  }
}

Status ValidateModelFolder(const JobParams& params, const std::string& param, const std::string& dir) {
  if (!IsDir(dir)) return params.Invalid(param, fmt::format("'{}' is not a folder", dir));
  if (!IsFile(dir + "/config.json")) {
    if (IsFile(dir + "/adapter_config.json")) {
      return params.Invalid(param, fmt::format("'{}' is a PEFT adapter, not a model folder (pass it as the "
                                               "checkpoint of its base model)", dir));
    }
    return params.Invalid(param, fmt::format("'{}' has no config.json", dir));
  }
  auto cfg = model::ReadModelConfig(dir + "/config.json");
  if (!cfg.ok()) return params.Invalid(param, cfg.status().message());
  if (!IsFile(dir + "/model.safetensors") && !IsFile(dir + "/model.safetensors.index.json")) {
    return params.Invalid(param, fmt::format("'{}' has neither model.safetensors nor model.safetensors.index.json "
                                             "(pytorch_model.bin cannot be read without Python)", dir));
  }
  return Status::OK();
}

StatusOr<LoadedModel> LoadModel(const JobParams& params, const std::string& model_param,
                                const std::string& model_dir, const std::string& checkpoint_dir,
                                torch::Device device) {
  FC_RETURN_IF_ERROR(ValidateModelFolder(params, model_param, model_dir));
  LoadedModel out;
  out.weights_dir = model_dir;
  std::string adapter;
  if (!checkpoint_dir.empty()) {
    if (IsFile(checkpoint_dir + "/adapter_config.json")) {
      adapter = checkpoint_dir;
    } else if (IsFile(checkpoint_dir + "/config.json")) {
      FC_RETURN_IF_ERROR(ValidateModelFolder(params, "checkpoint", checkpoint_dir));
      out.weights_dir = checkpoint_dir;
    } else {
      return params.Invalid("checkpoint", fmt::format("'{}' holds neither a PEFT adapter (adapter_config.json) "
                                                      "nor a model (config.json)", checkpoint_dir));
    }
  }
  auto loaded = model::LoadCausalLM(out.weights_dir, device, torch::kFloat32);
  if (!loaded.ok()) return loaded.status();
  out.model = std::move(loaded).value();
  if (!adapter.empty()) {
    Status merged = finetune::MergeAdapterIntoModel(*out.model, adapter);
    if (!merged.ok()) return params.Invalid("checkpoint", merged.message());
    out.merged_adapter = adapter;
  }
  for (const std::string& dir : {out.weights_dir, model_dir, checkpoint_dir}) {
    if (!dir.empty() && IsFile(dir + "/tokenizer.json")) {
      out.tokenizer_path = dir + "/tokenizer.json";
      break;
    }
  }
  if (out.tokenizer_path.empty()) {
    return params.Invalid(model_param, fmt::format("'{}' has no tokenizer.json", model_dir));
  }
  auto tok = text::Tokenizer::FromFile(out.tokenizer_path);
  if (!tok.ok()) return params.Invalid(model_param, tok.status().message());
  out.tokenizer = std::move(tok).value();
  out.pad_id = out.tokenizer->pad_id().value_or(out.tokenizer->eos_id().value_or(0));
  if (out.tokenizer->vocab_size() > out.model->config().vocab_size) {
    return params.Invalid(model_param, fmt::format("tokenizer has {} tokens but the model only {}",
                                                   out.tokenizer->vocab_size(), out.model->config().vocab_size));
  }
  return out;
}

circuit::ModelShape ShapeOf(const model::ModelConfig& c) {
  circuit::ModelShape s;
  s.arch = c.arch == model::Arch::kGpt2 ? circuit::ModelArch::kGpt2 : circuit::ModelArch::kGptNeox;
  s.n_layers = static_cast<int>(c.n_layers);
  s.d_model = c.d_model;
  s.d_mlp = c.d_mlp;
  s.vocab_size = c.vocab_size;
  s.max_positions = c.max_positions;
  return s;
}

nlohmann::json ShapeToJson(const circuit::ModelShape& s) {
  return {{"arch", circuit::ModelArchName(s.arch)}, {"n_layers", s.n_layers}, {"d_model", s.d_model},
          {"d_mlp", s.d_mlp}, {"vocab_size", s.vocab_size}, {"max_positions", s.max_positions}};
}

StatusOr<circuit::ModelShape> ShapeFromJson(const nlohmann::json& j, const std::string& source) {
  try {
    circuit::ModelShape s;
    FC_ASSIGN_OR_RETURN(s.arch, circuit::ParseModelArch(j.at("arch").get<std::string>()));
    s.n_layers = j.at("n_layers").get<int>();
    s.d_model = j.at("d_model").get<int64_t>();
    s.d_mlp = j.at("d_mlp").get<int64_t>();
    s.vocab_size = j.value("vocab_size", int64_t{0});
    s.max_positions = j.value("max_positions", int64_t{0});
    return s;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError("{}: model shape: {}", source, e.what());
  }
}

}  // namespace fc::jobs
