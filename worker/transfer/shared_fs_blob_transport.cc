#include "worker/transfer/shared_fs_blob_transport.h"

namespace fc::transfer {

StatusOr<PutResult> SharedFsBlobTransport::Put(const std::string& path, const std::string& sha, int64_t size,
                                               int64_t /*offset*/, const std::string& /*kind*/,
                                               const CancelFn& cancelled) {
  if (cancelled && cancelled()) return CancelledError("upload of {} cancelled", path);
  if (store_->Has(sha)) return PutResult{true, 0};
  FC_ASSIGN_OR_RETURN(artifacts::BlobInfo info, store_->PutFile(path, sha));
  if (info.size != size) {
    return DataLossError("file '{}' changed while uploading: {} bytes, expected {}", path, info.size, size);
  }
  return PutResult{false, size};
}

StatusOr<int64_t> SharedFsBlobTransport::Get(const std::string& sha, int64_t offset, int64_t /*size*/,
                                             const BlobSink& sink, const CancelFn& cancelled) {
  FC_ASSIGN_OR_RETURN(auto reader, store_->OpenReader(sha, offset));
  std::string buf;
  int64_t delivered = 0;
  while (!reader->done()) {
    if (cancelled && cancelled()) return CancelledError("download of blob {} cancelled", sha);
    FC_RETURN_IF_ERROR(reader->Next(1 << 20, &buf));
    FC_RETURN_IF_ERROR(sink(buf.data(), buf.size()));
    delivered += static_cast<int64_t>(buf.size());
  }
  return delivered;
}

}  // namespace fc::transfer
