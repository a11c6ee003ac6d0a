// ArtifactService: the fc.v1.ArtifactService gRPC service over a BlobStore (PutBlob, GetBlob,
// StatBlob; see proto/fc/v1/artifacts.proto and docs/artifacts.md).
//
// Threading: callback API reactors. A callback thread only validates sizes and posts; every
// file operation (open, hash, write, fsync, rename, read) runs on a BlobPool of `io_threads`
// named "blob" threads. Each stream keeps exactly one read (PutBlob) or one write (GetBlob) in
// flight, so a stream holds at most one 1 MiB chunk in memory and a slow peer is back-pressured
// by gRPC flow control instead of filling the coordinator's memory.
//
// Lifetime: the store must outlive the service; destroy the service only after the grpc::Server
// it is registered with has shut down (its destructor joins the blob threads).
#pragma once

#include <cstdint>
#include <memory>

#include <grpcpp/grpcpp.h>

#include "coordinator/artifacts/blob_pool.h"
#include "coordinator/artifacts/blob_store.h"
#include "coordinator/metrics/registry.h"
#include "fc/v1/artifacts.grpc.pb.h"

namespace fc::artifacts {

// Largest data payload of one PutBlob/GetBlob message.
inline constexpr int64_t kMaxChunkBytes = 1 << 20;

struct ArtifactServiceOptions {
  int io_threads = 2;
  // Optional: fc_artifact_bytes_total{direction="in"|"out"}, fc_artifact_blobs_stored_total,
  // fc_artifact_data_loss_total (uploads or reads whose content did not match the address).
  coord::metrics::Registry* metrics = nullptr;
};

class ArtifactService final : public ::fc::v1::ArtifactService::CallbackService {
 public:
  ArtifactService(BlobStore* store, ArtifactServiceOptions options = {});
  ~ArtifactService() override;

  grpc::ServerReadReactor<::fc::v1::PutBlobRequest>* PutBlob(grpc::CallbackServerContext* ctx,
                                                             ::fc::v1::PutBlobReply* reply) override;
  grpc::ServerWriteReactor<::fc::v1::GetBlobChunk>* GetBlob(grpc::CallbackServerContext* ctx,
                                                            const ::fc::v1::GetBlobRequest* req) override;
  grpc::ServerUnaryReactor* StatBlob(grpc::CallbackServerContext* ctx, const ::fc::v1::StatBlobRequest* req,
                                     ::fc::v1::StatBlobReply* reply) override;

 private:
  class PutReactor;
  class GetReactor;

  void CountIn(size_t n) { if (bytes_in_) bytes_in_->Inc(n); }
  void CountOut(size_t n) { if (bytes_out_) bytes_out_->Inc(n); }
  void CountStored() { if (stored_) stored_->Inc(); }
  void CountDataLoss() { if (data_loss_) data_loss_->Inc(); }

  BlobStore* store_;
  coord::metrics::Counter* bytes_in_ = nullptr;
  coord::metrics::Counter* bytes_out_ = nullptr;
  coord::metrics::Counter* stored_ = nullptr;
  coord::metrics::Counter* data_loss_ = nullptr;
  BlobPool pool_;
};

}  // namespace fc::artifacts
