// safetensors reader and writer (own implementation of the format:
//   [u64 little-endian N][N bytes JSON header][data], header = {name: {dtype, shape,
//   data_offsets:[begin,end]} ..., "__metadata__": {str: str}}, offsets relative to the data).
//
// Reading memory-maps the file; View() wraps the mapping with torch::from_blob (no copy) and
// Load() converts it once to the requested dtype/device (exactly one copy). Validation on open:
// header length beyond the file, malformed JSON, unknown dtype, data_offsets out of range,
// overlapping or not matching dtype size x shape -> DATA_LOSS naming the file and the tensor.
// Writer: tensors in name order, header padded with spaces to a multiple of 8 bytes, so equal
// inputs give byte-identical files. Sharded checkpoints: model.safetensors.index.json
// {"metadata":{"total_size":N},"weight_map":{name:file}}.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace fc::model {

enum class StDtype { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

const char* StDtypeName(StDtype dtype);          // "F32", ...
int64_t StDtypeSize(StDtype dtype);              // bytes per element
StatusOr<StDtype> StDtypeFromTorch(torch::Dtype dtype);
torch::Dtype StDtypeToTorch(StDtype dtype);

struct StTensorInfo {
  std::string name;
  StDtype dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the start of the data section
  uint64_t end = 0;
};

// One memory-mapped .safetensors file. Views stay valid while this object lives.
class SafetensorsFile {
 public:
  static StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::vector<StTensorInfo>& tensors() const { return tensors_; }  // sorted by name
  const StTensorInfo* Find(const std::string& name) const;

  // CPU tensor aliasing the mapping, in the stored dtype (copied only if misaligned).
  StatusOr<torch::Tensor> View(const std::string& name) const;
  // A fresh tensor (never aliasing the mapping) in `dtype` on `device`, converted in one copy.
  StatusOr<torch::Tensor> Load(const std::string& name, torch::Device device,
                               torch::Dtype dtype) const;
  // Copies tensor `name` (transposed first when `transpose`, for 2-D tensors) into `dst`,
  // converting dtype/device in that one copy; the shape must match. Afterwards the tensor's pages
  // are dropped from this process (madvise DONTNEED; they re-read from the file if viewed again),
  // so loading a model does not keep the whole file resident next to the parameters.
  Status LoadInto(const std::string& name, torch::Tensor& dst, bool transpose = false) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  int fd_ = -1;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* data_ = nullptr;  // start of the data section
  std::vector<StTensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// A checkpoint folder: model.safetensors, or shards listed by model.safetensors.index.json.
class SafetensorsCheckpoint {
 public:
  // `dir` holds model.safetensors.index.json (preferred when present) or model.safetensors.
  static StatusOr<std::unique_ptr<SafetensorsCheckpoint>> Open(const std::string& dir);

  std::vector<std::string> Names() const;  // sorted
  bool Contains(const std::string& name) const;
  // The file holding `name` and its header entry; NOT_FOUND naming the checkpoint otherwise.
  StatusOr<std::pair<const SafetensorsFile*, const StTensorInfo*>> Find(
      const std::string& name) const;
  const std::string& description() const { return description_; }  // path used in errors

 private:
  std::string description_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // tensor name -> index into files_
};

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Writes one file; tensors are converted to contiguous CPU first, written in name order.
// Duplicate names or unsupported dtypes -> INVALID_ARGUMENT.
Status WriteSafetensors(const std::string& path, const NamedTensors& tensors,
                        const std::map<std::string, std::string>& metadata = {});
// Writes dir/model-0000i-of-0000n.safetensors shards of at most ~max_shard_bytes each (a
// tensor larger than that gets its own shard) plus dir/model.safetensors.index.json.
Status WriteShardedSafetensors(const std::string& dir, const NamedTensors& tensors,
                               int64_t max_shard_bytes,
                               const std::map<std::string, std::string>& metadata = {});

}  // namespace fc::model
