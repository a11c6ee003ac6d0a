// SharedFsBlobTransport: BlobTransport on a directory with the artifact store's layout
// (coordinator/artifacts/blob_store.h), e.g. an NFS mount of the coordinator's --artifacts dir,
// for workers started with --shared-artifacts DIR. Reads and writes blobs there directly: Put
// copies into a uniquely named temp file and renames it into place (no resume needed, and
// concurrent writers on several hosts cannot clash); Get re-hashes while reading like the
// service does.
#pragma once

#include <memory>

#include "worker/transfer/blob_transport.h"

namespace fc::transfer {

class SharedFsBlobTransport final : public BlobTransport {
 public:
  explicit SharedFsBlobTransport(std::unique_ptr<artifacts::BlobStore> store) : store_(std::move(store)) {}

  std::string Describe() const override { return "shared artifact directory " + store_->root(); }
  StatusOr<artifacts::BlobStat> Stat(const std::string& sha) override { return store_->Stat(sha); }
  StatusOr<PutResult> Put(const std::string& path, const std::string& sha, int64_t size, int64_t offset,
                          const std::string& kind, const CancelFn& cancelled) override;
  StatusOr<int64_t> Get(const std::string& sha, int64_t offset, int64_t size, const BlobSink& sink,
                        const CancelFn& cancelled) override;

 private:
  std::unique_ptr<artifacts::BlobStore> store_;
};

}  // namespace fc::transfer
