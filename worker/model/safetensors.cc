#include "worker/model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace fc::model {
namespace {

using nlohmann::json;

struct DtypeRow {
  StDtype dtype;
  const char* name;
  int64_t size;
  torch::Dtype torch_dtype;
};

constexpr DtypeRow kDtypes[] = {
    {StDtype::kF64, "F64", 8, torch::kFloat64},  {StDtype::kF32, "F32", 4, torch::kFloat32},
    {StDtype::kF16, "F16", 2, torch::kFloat16},  {StDtype::kBF16, "BF16", 2, torch::kBFloat16},
    {StDtype::kI64, "I64", 8, torch::kInt64},    {StDtype::kI32, "I32", 4, torch::kInt32},
    {StDtype::kI16, "I16", 2, torch::kInt16},    {StDtype::kI8, "I8", 1, torch::kInt8},
    {StDtype::kU8, "U8", 1, torch::kUInt8},      {StDtype::kBool, "BOOL", 1, torch::kBool},
};

const DtypeRow& Row(StDtype d) {
  for (const auto& r : kDtypes) {
    if (r.dtype == d) return r;
  }
  return kDtypes[1];
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Parses and validates the JSON header; `data_size` is the size of the data section.
Status ParseHeader(const std::string& path, const char* text, size_t len, uint64_t data_size,
                   std::vector<StTensorInfo>* tensors,
                   std::map<std::string, std::string>* metadata) {
  json h;
  try {
    h = json::parse(text, text + len);
  } catch (const json::exception& e) {
    return DataLossError("{}: safetensors header is not valid JSON: {}", path, e.what());
  }
  if (!h.is_object()) return DataLossError("{}: safetensors header is not a JSON object", path);
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) return DataLossError("{}: __metadata__ is not an object", path);
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) {
          return DataLossError("{}: __metadata__ value '{}' is not a string", path, m.key());
        }
        (*metadata)[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") ||
        !v.contains("data_offsets")) {
      return DataLossError("{}: tensor '{}': entry needs dtype, shape and data_offsets", path,
                           name);
    }
    StTensorInfo info;
    info.name = name;
    if (!v["dtype"].is_string()) return DataLossError("{}: tensor '{}': bad dtype", path, name);
    const std::string dt = v["dtype"].get<std::string>();
    bool found = false;
    for (const auto& r : kDtypes) {
      if (dt == r.name) {
        info.dtype = r.dtype;
        found = true;
      }
    }
    if (!found) return DataLossError("{}: tensor '{}': unsupported dtype '{}'", path, name, dt);
    if (!v["shape"].is_array()) return DataLossError("{}: tensor '{}': bad shape", path, name);
    uint64_t numel = 1;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) {
        return DataLossError("{}: tensor '{}': bad shape {}", path, name, v["shape"].dump());
      }
      const uint64_t dim = static_cast<uint64_t>(d.get<int64_t>());
      if (dim != 0 && numel > (uint64_t{1} << 62) / dim) {
        return DataLossError("{}: tensor '{}': shape {} is too large", path, name,
                             v["shape"].dump());
      }
      info.shape.push_back(static_cast<int64_t>(dim));
      numel *= dim;
    }
    const json& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
        !off[1].is_number_unsigned()) {
      return DataLossError("{}: tensor '{}': bad data_offsets {}", path, name, off.dump());
    }
    info.begin = off[0].get<uint64_t>();
    info.end = off[1].get<uint64_t>();
    if (info.begin > info.end || info.end > data_size) {
      return DataLossError("{}: tensor '{}': data_offsets [{}, {}] out of range (data is {} bytes)",
                           path, name, info.begin, info.end, data_size);
    }
    const uint64_t want = numel * static_cast<uint64_t>(Row(info.dtype).size);
    if (info.end - info.begin != want) {
      return DataLossError("{}: tensor '{}': {} x {} needs {} bytes but data_offsets span {}",
                           path, name, dt, ShapeString(info.shape), want, info.end - info.begin);
    }
    tensors->push_back(std::move(info));
  }
  // Overlap check: sort by begin; empty tensors may share an offset.
  std::vector<const StTensorInfo*> by_offset;
  for (const auto& t : *tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const StTensorInfo* a, const StTensorInfo* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i]->begin < by_offset[i - 1]->end) {
      return DataLossError("{}: tensors '{}' and '{}' overlap", path, by_offset[i - 1]->name,
                           by_offset[i]->name);
    }
  }
  std::sort(tensors->begin(), tensors->end(),
            [](const StTensorInfo& a, const StTensorInfo& b) { return a.name < b.name; });
  return Status::OK();
}

Status WriteAll(std::ofstream& out, const void* p, size_t n, const std::string& path) {
  out.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
  if (!out) return InternalError("{}: write failed", path);
  return Status::OK();
}

}  // namespace

const char* StDtypeName(StDtype dtype) { return Row(dtype).name; }
int64_t StDtypeSize(StDtype dtype) { return Row(dtype).size; }
torch::Dtype StDtypeToTorch(StDtype dtype) { return Row(dtype).torch_dtype; }

StatusOr<StDtype> StDtypeFromTorch(torch::Dtype dtype) {
  for (const auto& r : kDtypes) {
    if (r.torch_dtype == dtype) return r.dtype;
  }
  return InvalidArgumentError("dtype {} cannot be stored in safetensors",
                              std::string(c10::toString(dtype)));
}

// ------------------------------------------------------------------------------ SafetensorsFile

StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f->fd_ < 0) {
    return NotFoundError("{}: cannot open safetensors file: {}", path, std::strerror(errno));
  }
  struct stat st;
  if (fstat(f->fd_, &st) != 0) return InternalError("{}: fstat failed", path);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < 8) {
    return DataLossError("{}: file is {} bytes, too short for the 8-byte header length", path,
                         size);
  }
  f->map_size_ = size;
  f->map_ = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, f->fd_, 0);
  if (f->map_ == MAP_FAILED) {
    f->map_ = nullptr;
    return InternalError("{}: mmap failed: {}", path, std::strerror(errno));
  }
  const auto* bytes = static_cast<const uint8_t*>(f->map_);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];  // little endian
  if (header_len > size - 8) {
    return DataLossError("{}: header length {} exceeds the file size {}", path, header_len, size);
  }
  f->data_ = bytes + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;
  FC_RETURN_IF_ERROR(ParseHeader(path, reinterpret_cast<const char*>(bytes + 8), header_len,
                                 data_size, &f->tensors_, &f->metadata_));
  for (size_t i = 0; i < f->tensors_.size(); ++i) f->index_[f->tensors_[i].name] = i;
  return f;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) munmap(map_, map_size_);
  if (fd_ >= 0) ::close(fd_);
}

const StTensorInfo* SafetensorsFile::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

StatusOr<torch::Tensor> SafetensorsFile::View(const std::string& name) const {
  const StTensorInfo* info = Find(name);
  if (info == nullptr) return NotFoundError("{}: no tensor '{}'", path_, name);
  const torch::Dtype dtype = StDtypeToTorch(info->dtype);
  const uint8_t* p = data_ + info->begin;
  auto options = torch::TensorOptions().dtype(dtype).device(torch::kCPU);
  if (reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(StDtypeSize(info->dtype)) != 0) {
    // Misaligned elements: kernels may assume alignment, so copy to an aligned buffer.
    torch::Tensor t = torch::empty(info->shape, options);
    std::memcpy(t.data_ptr(), p, info->end - info->begin);
    return t;
  }
  // The mapping is read-only; callers must not write to the view (Load copies).
  return torch::from_blob(const_cast<uint8_t*>(p), info->shape, options);
}

StatusOr<torch::Tensor> SafetensorsFile::Load(const std::string& name, torch::Device device,
                                              torch::Dtype dtype) const {
  FC_ASSIGN_OR_RETURN(torch::Tensor view, View(name));
  try {
    torch::Tensor dst = torch::empty(view.sizes(), torch::TensorOptions().dtype(dtype).device(device));
    dst.copy_(view);  // the one conversion copy
    return dst;
  } catch (const c10::Error& e) {
    return InternalError("{}: tensor '{}': load failed: {}", path_, name, e.what_without_backtrace());
  }
}

Status SafetensorsFile::LoadInto(const std::string& name, torch::Tensor& dst,
                                 bool transpose) const {
  FC_ASSIGN_OR_RETURN(torch::Tensor view, View(name));
  if (transpose) {
    if (view.dim() != 2) {
      return InvalidArgumentError("{}: tensor '{}' is {}-D, cannot transpose", path_, name,
                                  view.dim());
    }
    view = view.t();
  }
  if (view.sizes() != dst.sizes()) {
    return InvalidArgumentError("{}: tensor '{}' has shape {}, expected {}", path_, name,
                                ShapeString(view.sizes().vec()), ShapeString(dst.sizes().vec()));
  }
  try {
    torch::NoGradGuard no_grad;
    dst.copy_(view);
  } catch (const c10::Error& e) {
    return InternalError("{}: tensor '{}': load failed: {}", path_, name, e.what_without_backtrace());
  }
  const StTensorInfo* info = Find(name);
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t lo = reinterpret_cast<uintptr_t>(data_ + info->begin) / page * page;
  const uintptr_t hi = reinterpret_cast<uintptr_t>(data_ + info->end);
  if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
  return Status::OK();
}

// ------------------------------------------------------------------------ SafetensorsCheckpoint

StatusOr<std::unique_ptr<SafetensorsCheckpoint>> SafetensorsCheckpoint::Open(
    const std::string& dir) {
  namespace fs = std::filesystem;
  auto ck = std::make_unique<SafetensorsCheckpoint>();
  const fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
  const fs::path single_path = fs::path(dir) / "model.safetensors";
  if (fs::exists(index_path)) {
    ck->description_ = index_path.string();
    std::ifstream in(index_path);
    json j;
    try {
      j = json::parse(in);
    } catch (const json::exception& e) {
      return DataLossError("{}: invalid JSON: {}", index_path.string(), e.what());
    }
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
      return DataLossError("{}: missing object 'weight_map'", index_path.string());
    }
    std::map<std::string, size_t> file_index;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!it.value().is_string()) {
        return DataLossError("{}: weight_map['{}'] is not a file name", index_path.string(),
                             it.key());
      }
      const std::string file = it.value().get<std::string>();
      if (file.find('/') != std::string::npos || file == ".." || file.empty()) {
        return DataLossError("{}: weight_map['{}'] = '{}' is not a plain file name",
                             index_path.string(), it.key(), file);
      }
      auto f = file_index.find(file);
      if (f == file_index.end()) {
        FC_ASSIGN_OR_RETURN(auto shard, SafetensorsFile::Open((fs::path(dir) / file).string()));
        f = file_index.emplace(file, ck->files_.size()).first;
        ck->files_.push_back(std::move(shard));
      }
      if (ck->files_[f->second]->Find(it.key()) == nullptr) {
        return DataLossError("{}: weight_map puts '{}' in '{}' but that file lacks it",
                             index_path.string(), it.key(), file);
      }
      ck->where_[it.key()] = f->second;
    }
    return ck;
  }
  if (!fs::exists(single_path)) {
    const bool has_bin = fs::exists(fs::path(dir) / "pytorch_model.bin");
    return NotFoundError("{}: neither model.safetensors nor model.safetensors.index.json found{}",
                         dir,
                         has_bin ? " (pytorch_model.bin is not supported: convert it to "
                                   "safetensors)"
                                 : "");
  }
  ck->description_ = single_path.string();
  FC_ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open(single_path.string()));
  for (const auto& t : file->tensors()) ck->where_[t.name] = 0;
  ck->files_.push_back(std::move(file));
  return ck;
}

std::vector<std::string> SafetensorsCheckpoint::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, idx] : where_) names.push_back(name);
  return names;
}

bool SafetensorsCheckpoint::Contains(const std::string& name) const {
  return where_.count(name) > 0;
}

StatusOr<std::pair<const SafetensorsFile*, const StTensorInfo*>> SafetensorsCheckpoint::Find(
    const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) return NotFoundError("{}: missing tensor '{}'", description_, name);
  const SafetensorsFile* f = files_[it->second].get();
  return std::make_pair(f, f->Find(name));
}

// ----------------------------------------------------------------------------------- writing

Status WriteSafetensors(const std::string& path, const NamedTensors& tensors,
                        const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, torch::Tensor>> sorted;
  try {
    for (const auto& [name, t] : tensors) {
      if (!t.defined()) return InvalidArgumentError("{}: tensor '{}' is undefined", path, name);
      sorted.emplace_back(name, t.detach().to(torch::kCPU).contiguous());
    }
  } catch (const c10::Error& e) {
    return InternalError("{}: cannot move tensors to CPU: {}", path, e.what_without_backtrace());
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  json header = json::object();
  uint64_t offset = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const auto& [name, t] = sorted[i];
    if (i > 0 && sorted[i - 1].first == name) {
      return InvalidArgumentError("{}: duplicate tensor name '{}'", path, name);
    }
    if (name == "__metadata__") return InvalidArgumentError("{}: reserved name", path);
    auto st = StDtypeFromTorch(t.scalar_type());
    if (!st.ok()) return st.status().WithContext(path + ": tensor '" + name + "'");
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * StDtypeSize(*st);
    header[name] = {{"dtype", StDtypeName(*st)},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text = header.dump();  // keys sorted: deterministic
  while (text.size() % 8 != 0) text.push_back(' ');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return InternalError("{}: cannot create file", path);
  uint8_t len_bytes[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<uint8_t>((n >> (8 * i)) & 0xff);
  FC_RETURN_IF_ERROR(WriteAll(out, len_bytes, 8, path));
  FC_RETURN_IF_ERROR(WriteAll(out, text.data(), text.size(), path));
  for (const auto& [name, t] : sorted) {
    FC_RETURN_IF_ERROR(WriteAll(out, t.data_ptr(), t.numel() * t.element_size(), path));
  }
  out.close();
  if (!out) return InternalError("{}: close failed", path);
  return Status::OK();
}

Status WriteShardedSafetensors(const std::string& dir, const NamedTensors& tensors,
                               int64_t max_shard_bytes,
                               const std::map<std::string, std::string>& metadata) {
  namespace fs = std::filesystem;
  NamedTensors sorted = tensors;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<NamedTensors> shards(1);
  int64_t current = 0;
  uint64_t total = 0;
  for (const auto& nt : sorted) {
    const int64_t bytes = nt.second.numel() * nt.second.element_size();
    if (!shards.back().empty() && current + bytes > max_shard_bytes) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().push_back(nt);
    current += bytes;
    total += static_cast<uint64_t>(bytes);
  }
  json weight_map = json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string file =
        fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
    FC_RETURN_IF_ERROR(WriteSafetensors((fs::path(dir) / file).string(), shards[i], metadata));
    for (const auto& nt : shards[i]) weight_map[nt.first] = file;
  }
  json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  const std::string index_path = (fs::path(dir) / "model.safetensors.index.json").string();
  std::ofstream out(index_path, std::ios::trunc);
  if (!out) return InternalError("{}: cannot create file", index_path);
  out << index.dump(2) << "\n";
  out.close();
  if (!out) return InternalError("{}: write failed", index_path);
  return Status::OK();
}

}  // namespace fc::model
