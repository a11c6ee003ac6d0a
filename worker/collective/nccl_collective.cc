#include "worker/collective/nccl_collective.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <nccl.h>

namespace fc::collective {

namespace {

StatusOr<ncclDataType_t> NcclType(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return ncclFloat32;
    case torch::kFloat64: return ncclFloat64;
    case torch::kFloat16: return ncclFloat16;
#if NCCL_MAJOR > 2 || (NCCL_MAJOR == 2 && NCCL_MINOR >= 10)
    case torch::kBFloat16: return ncclBfloat16;
#endif
    case torch::kInt32: return ncclInt32;
    case torch::kInt64: return ncclInt64;
    case torch::kUInt8: return ncclUint8;
    default:
      return InvalidArgumentError("nccl: unsupported dtype {}", std::string(c10::toString(t)));
  }
}

Status Check(ncclResult_t r, const char* call, int rank) {
  if (r == ncclSuccess) return Status::OK();
  return InternalError("nccl rank {}: {} failed: {}", rank, call, ncclGetErrorString(r));
}

class NcclCollective : public Collective {
 public:
  NcclCollective(ncclComm_t comm, const NcclOptions& o) : comm_(comm), opt_(o) {}
  ~NcclCollective() override { ncclCommDestroy(comm_); }

  int rank() const override { return opt_.rank; }
  int world_size() const override { return opt_.world_size; }
  std::string name() const override { return "nccl"; }

  Status AllReduceSum(std::vector<torch::Tensor>& tensors) override {
    return Run("ncclAllReduce", tensors, [&](torch::Tensor& t, ncclDataType_t type, cudaStream_t s) {
      return ncclAllReduce(t.data_ptr(), t.data_ptr(), t.numel(), type, ncclSum, comm_, s);
    });
  }

  Status Broadcast(std::vector<torch::Tensor>& tensors, int root) override {
    if (root < 0 || root >= opt_.world_size) {
      return InvalidArgumentError("Broadcast: root {} out of range for world size {}", root, opt_.world_size);
    }
    return Run("ncclBroadcast", tensors, [&](torch::Tensor& t, ncclDataType_t type, cudaStream_t s) {
      return ncclBroadcast(t.data_ptr(), t.data_ptr(), t.numel(), type, root, comm_, s);
    });
  }

 private:
  template <typename Fn>
  Status Run(const char* call, std::vector<torch::Tensor>& tensors, Fn fn) {
    // Non-contiguous tensors go through a contiguous staging copy and are written back.
    std::vector<torch::Tensor> work(tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
      const torch::Tensor& t = tensors[i];
      if (!t.defined()) return InvalidArgumentError("{}: tensor {} is undefined", call, i);
      if (!t.is_cuda() || t.get_device() != opt_.device_index) {
        return InvalidArgumentError("{}: tensor {} must be on cuda:{}, is on {}", call, i, opt_.device_index,
                                    t.device().str());
      }
      work[i] = t.is_contiguous() ? t : t.contiguous();
    }
    c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(opt_.device_index));
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream(opt_.device_index).stream();
    FC_RETURN_IF_ERROR(Check(ncclGroupStart(), "ncclGroupStart", opt_.rank));
    Status first = Status::OK();
    for (auto& t : work) {
      auto type = NcclType(t.scalar_type());
      if (!type.ok()) { first = type.status(); break; }
      Status s = Check(fn(t, *type, stream), call, opt_.rank);
      if (!s.ok()) { first = s; break; }
    }
    FC_RETURN_IF_ERROR(Check(ncclGroupEnd(), "ncclGroupEnd", opt_.rank));
    FC_RETURN_IF_ERROR(first);
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < tensors.size(); ++i) {
      if (!tensors[i].is_contiguous()) tensors[i].copy_(work[i]);
    }
    return Status::OK();
  }

  ncclComm_t comm_;
  NcclOptions opt_;
};

}  // namespace

StatusOr<std::unique_ptr<Collective>> MakeNcclCollective(const NcclOptions& o) {
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size) {
    return InvalidArgumentError("nccl: rank {} invalid for world size {}", o.rank, o.world_size);
  }
  if (o.id_file.empty()) return InvalidArgumentError("nccl: field 'id_file' is empty");
  ncclUniqueId id;
  if (o.rank == 0) {
    FC_RETURN_IF_ERROR(Check(ncclGetUniqueId(&id), "ncclGetUniqueId", 0));
    const std::string tmp = o.id_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(id.internal, sizeof(id.internal));
      if (!out) return InternalError("nccl rank 0: cannot write '{}'", tmp);
    }
    if (std::rename(tmp.c_str(), o.id_file.c_str()) != 0) {
      return InternalError("nccl rank 0: cannot rename '{}' to '{}'", tmp, o.id_file);
    }
  } else {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(o.rendezvous_timeout_s * 1000));
    for (;;) {
      std::ifstream in(o.id_file, std::ios::binary);
      if (in && in.read(id.internal, sizeof(id.internal))) break;
      if (std::chrono::steady_clock::now() > deadline) {
        return DeadlineExceededError("nccl rank {}: no unique id in '{}' after {} s", o.rank, o.id_file,
                                     o.rendezvous_timeout_s);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(o.device_index));
  ncclComm_t comm;
  FC_RETURN_IF_ERROR(Check(ncclCommInitRank(&comm, o.world_size, id, o.rank), "ncclCommInitRank", o.rank));
  return std::unique_ptr<Collective>(new NcclCollective(comm, o));
}

}  // namespace fc::collective
