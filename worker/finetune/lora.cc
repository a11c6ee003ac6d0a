#include "worker/finetune/lora.h"

#include <cmath>
#include <map>
#include <set>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/ranges.h>

namespace fc::finetune {

namespace {

std::string Shape(const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes().vec(), ",")); }

// Freezes every base parameter: only adapters train.
void FreezeBase(model::CausalLM& model) {
  for (auto& p : model.module().parameters()) p.set_requires_grad(false);
}

}  // namespace

std::vector<std::string> DefaultTargetModules(model::Arch arch) {
  if (arch == model::Arch::kGpt2) return {"c_attn", "c_fc", "c_proj"};
  return {"dense", "dense_4h_to_h", "dense_h_to_4h", "query_key_value"};
}

LoraSet::~LoraSet() = default;

StatusOr<std::unique_ptr<LoraSet>> LoraSet::Attach(model::CausalLM& model, const AdapterConfig& config,
                                                   uint64_t seed) {
  std::vector<Entry> entries;
  auto gen = at::detail::createCPUGenerator(seed);
  for (auto& [name, linear] : model.NamedLinears()) {
    if (!config.Targets(name)) continue;
    if (linear->lora) return FailedPreconditionError("module '{}' already has a LoRA adapter", name);
    const int64_t r = config.RankFor(name);
    const int64_t in = linear->in_features();
    const int64_t out = linear->out_features();
    auto opts = torch::TensorOptions().dtype(linear->weight.scalar_type()).device(linear->weight.device());
    auto adapter = std::make_shared<model::LoraAdapter>();
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    // Drawn in float32 on the CPU from a dedicated generator, so the values are the same on any
    // device and do not consume the global RNG stream.
    torch::Tensor a = torch::empty({r, in}, torch::kFloat32);
    a.uniform_(-bound, bound, gen);
    adapter->A = a.to(opts).set_requires_grad(true);
    adapter->B = torch::zeros({out, r}, opts).set_requires_grad(true);
    adapter->scale = config.ScaleFor(name);
    adapter->dropout = config.lora_dropout;
    entries.push_back(Entry{name, linear, adapter});
  }
  if (entries.empty()) {
    std::string targets = config.target_regex ? *config.target_regex : fmt::format("{}", fmt::join(config.target_modules, ", "));
    return InvalidArgumentError("lora field 'target_modules': [{}] matches no Linear module of the model", targets);
  }
  FreezeBase(model);
  for (auto& e : entries) e.linear->lora = e.adapter;
  return std::unique_ptr<LoraSet>(new LoraSet(config, std::move(entries)));
}

StatusOr<std::unique_ptr<LoraSet>> LoraSet::FromAdapter(model::CausalLM& model, const PeftAdapter& adapter) {
  std::vector<Entry> entries;
  std::set<std::string> seen;
  for (auto& [name, linear] : model.NamedLinears()) {
    auto it = adapter.modules.find(name);
    if (it == adapter.modules.end()) continue;
    seen.insert(name);
    if (linear->lora) return FailedPreconditionError("module '{}' already has a LoRA adapter", name);
    const AdapterTensors& t = it->second;
    if (t.A.size(1) != linear->in_features() || t.B.size(0) != linear->out_features()) {
      return InvalidArgumentError("adapter module '{}': lora_A {} / lora_B {} do not fit the layer [out={}, in={}]",
                                  name, Shape(t.A), Shape(t.B), linear->out_features(), linear->in_features());
    }
    auto opts = torch::TensorOptions().dtype(linear->weight.scalar_type()).device(linear->weight.device());
    auto a = std::make_shared<model::LoraAdapter>();
    a->A = t.A.to(opts).clone().set_requires_grad(true);
    a->B = t.B.to(opts).clone().set_requires_grad(true);
    a->scale = adapter.config.ScaleFor(name);
    a->dropout = adapter.config.lora_dropout;
    entries.push_back(Entry{name, linear, a});
  }
  for (const auto& [name, t] : adapter.modules) {
    if (!seen.count(name)) return InvalidArgumentError("adapter module '{}' is not a Linear of the model", name);
  }
  FreezeBase(model);
  for (auto& e : entries) e.linear->lora = e.adapter;
  return std::unique_ptr<LoraSet>(new LoraSet(adapter.config, std::move(entries)));
}

StatusOr<std::unique_ptr<LoraSet>> LoraSet::Load(model::CausalLM& model, const std::string& adapter_dir) {
  FC_ASSIGN_OR_RETURN(PeftAdapter adapter, ReadPeftAdapter(adapter_dir));
  auto set = FromAdapter(model, adapter);
  if (!set.ok()) return set.status().WithContext(adapter_dir);
  return set;
}

std::vector<std::string> LoraSet::Modules() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.module);
  return out;
}

std::vector<torch::Tensor> LoraSet::Parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& e : entries_) {
    out.push_back(e.adapter->A);
    out.push_back(e.adapter->B);
  }
  return out;
}

std::vector<torch::Tensor> LoraSet::ParametersOf(const std::vector<std::string>& modules) const {
  std::set<std::string> want(modules.begin(), modules.end());
  std::vector<torch::Tensor> out;
  for (const auto& e : entries_) {
    if (!want.count(e.module)) continue;
    out.push_back(e.adapter->A);
    out.push_back(e.adapter->B);
  }
  return out;
}

int64_t LoraSet::TrainableParameterCount() const {
  int64_t n = 0;
  for (const auto& e : entries_) n += e.adapter->A.numel() + e.adapter->B.numel();
  return n;
}

Status LoraSet::Merge() {
  if (detached_) return FailedPreconditionError("LoraSet: cannot merge detached adapters");
  if (merged_) return FailedPreconditionError("LoraSet: adapters are already merged");
  torch::NoGradGuard no_grad;
  for (auto& e : entries_) {
    // Product in float32 even for low-precision weights, one rounding when added.
    torch::Tensor delta = torch::matmul(e.adapter->B.to(torch::kFloat32), e.adapter->A.to(torch::kFloat32)) *
                          e.adapter->scale;
    e.linear->weight.copy_(e.linear->weight.to(torch::kFloat32) + delta);
    e.linear->lora = nullptr;
  }
  merged_ = true;
  return Status::OK();
}

Status LoraSet::Unmerge() {
  if (!merged_) return FailedPreconditionError("LoraSet: adapters are not merged");
  torch::NoGradGuard no_grad;
  for (auto& e : entries_) {
    torch::Tensor delta = torch::matmul(e.adapter->B.to(torch::kFloat32), e.adapter->A.to(torch::kFloat32)) *
                          e.adapter->scale;
    e.linear->weight.copy_(e.linear->weight.to(torch::kFloat32) - delta);
    e.linear->lora = e.adapter;
  }
  merged_ = false;
  return Status::OK();
}

void LoraSet::Detach() {
  if (detached_) return;
  if (!merged_) {
    for (auto& e : entries_) e.linear->lora = nullptr;
  }
  detached_ = true;
}

PeftAdapter LoraSet::ToPeft() const {
  PeftAdapter out;
  out.config = config_;
  for (const auto& e : entries_) {
    out.modules[e.module] = AdapterTensors{e.adapter->A.detach().to(torch::kCPU, torch::kFloat32).clone(),
                                           e.adapter->B.detach().to(torch::kCPU, torch::kFloat32).clone()};
  }
  return out;
}

Status MergeAdapterIntoModel(model::CausalLM& model, const std::string& adapter_dir) {
  FC_ASSIGN_OR_RETURN(auto set, LoraSet::Load(model, adapter_dir));
  return set->Merge();
}

}  // namespace fc::finetune
