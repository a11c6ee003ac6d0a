// GrpcBlobTransport: BlobTransport over fc.v1.ArtifactService. Chunks of chunk_bytes (<= 1 MiB);
// every call has a deadline of base_timeout_ms plus the time the bytes take at
// min_bytes_per_sec, so a large model gets long enough and a stuck stream still ends.
#pragma once

#include <memory>

#include <grpcpp/grpcpp.h>

#include "fc/v1/artifacts.grpc.pb.h"
#include "worker/transfer/blob_transport.h"

namespace fc::transfer {

struct GrpcTransportOptions {
  int64_t chunk_bytes = 1 << 20;
  int64_t base_timeout_ms = 30000;
  int64_t min_bytes_per_sec = 1 << 20;
};

class GrpcBlobTransport final : public BlobTransport {
 public:
  GrpcBlobTransport(std::shared_ptr<grpc::Channel> channel, GrpcTransportOptions options = {});

  std::string Describe() const override { return "coordinator artifact service"; }
  StatusOr<artifacts::BlobStat> Stat(const std::string& sha) override;
  StatusOr<PutResult> Put(const std::string& path, const std::string& sha, int64_t size, int64_t offset,
                          const std::string& kind, const CancelFn& cancelled) override;
  StatusOr<int64_t> Get(const std::string& sha, int64_t offset, int64_t size, const BlobSink& sink,
                        const CancelFn& cancelled) override;

 private:
  std::chrono::system_clock::time_point Deadline(int64_t bytes) const;

  std::unique_ptr<::fc::v1::ArtifactService::Stub> stub_;
  GrpcTransportOptions options_;
};

}  // namespace fc::transfer
