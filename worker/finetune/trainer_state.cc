#include "worker/finetune/trainer_state.h"

#include <fstream>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

namespace fc::finetune {

using nlohmann::json;

namespace {

torch::Tensor GetCpuRngState() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void SetCpuRngState(const torch::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

}  // namespace

Status SaveTrainerState(const std::string& dir, const TrainerState& s, const GroupedAdamW& optimizer) {
  json j;
  j["step"] = s.step;
  j["total_steps"] = s.total_steps;
  j["warmup_steps"] = s.warmup_steps;
  j["epoch"] = s.cursor.epoch;
  j["offset"] = s.cursor.offset;
  j["seed"] = s.seed;
  j["method"] = s.method;
  j["world_size"] = s.world_size;
  j["last_loss"] = s.last_loss;
  const std::string path = dir + "/" + kTrainerStateFile;
  std::ofstream out(path, std::ios::trunc);
  out << j.dump(2) << "\n";
  out.flush();
  if (!out) return InternalError("cannot write '{}'", path);
  const std::string opt_path = dir + "/" + kOptimizerFile;
  try {
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive opt_archive;
    optimizer.Save(opt_archive);
    archive.write("optimizer", opt_archive);
    archive.write("rng_cpu", GetCpuRngState());
    archive.save_to(opt_path);
  } catch (const c10::Error& e) {
    return InternalError("cannot write '{}': {}", opt_path, e.what_without_backtrace());
  }
  return Status::OK();
}

Status LoadTrainerState(const std::string& dir, TrainerState* s, GroupedAdamW* optimizer) {
  const std::string path = dir + "/" + kTrainerStateFile;
  std::ifstream in(path);
  if (!in) return NotFoundError("trainer state '{}' not found", path);
  try {
    json j = json::parse(in);
    s->step = j.at("step").get<int64_t>();
    s->total_steps = j.at("total_steps").get<int64_t>();
    s->warmup_steps = j.at("warmup_steps").get<int64_t>();
    s->cursor.epoch = j.at("epoch").get<int64_t>();
    s->cursor.offset = j.at("offset").get<int64_t>();
    s->seed = j.at("seed").get<uint64_t>();
    s->method = j.value("method", "");
    s->world_size = j.value("world_size", 1);
    s->last_loss = j.value("last_loss", 0.0);
  } catch (const json::exception& e) {
    return DataLossError("{}: corrupt trainer state: {}", path, e.what());
  }
  const std::string opt_path = dir + "/" + kOptimizerFile;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(opt_path);
    torch::serialize::InputArchive opt_archive;
    if (!archive.try_read("optimizer", opt_archive)) return DataLossError("{}: no 'optimizer' entry", opt_path);
    FC_RETURN_IF_ERROR(optimizer->Load(opt_archive).WithContext(opt_path));
    torch::Tensor rng;
    if (!archive.try_read("rng_cpu", rng)) return DataLossError("{}: no 'rng_cpu' entry", opt_path);
    SetCpuRngState(rng);
  } catch (const c10::Error& e) {
    return DataLossError("cannot read '{}': {}", opt_path, e.what_without_backtrace());
  }
  return Status::OK();
}

}  // namespace fc::finetune
