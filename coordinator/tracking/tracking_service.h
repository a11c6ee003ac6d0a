// fc.v1.TrackingService: the tracking views of report.h over gRPC, each query run on a store
// reader thread (never the io thread or a gRPC callback: circuits may be read from files and
// blobs), answered as JSON (TrackingJsonReply.json). `blobs` (may be null) is the coordinator's
// artifact store, for circuits whose output is a `blob:` uri.
#pragma once

#include "coordinator/artifacts/blob_store.h"
#include "coordinator/store/reader_pool.h"
#include "fc/v1/tracking.grpc.pb.h"

namespace fc::coord::tracking {

class TrackingService final : public fc::v1::TrackingService::CallbackService {
 public:
  explicit TrackingService(store::ReaderPool* readers, const artifacts::BlobStore* blobs = nullptr)
      : readers_(readers), blobs_(blobs) {}

  grpc::ServerUnaryReactor* GetExperimentTracking(grpc::CallbackServerContext* ctx,
                                                  const fc::v1::GetExperimentTrackingRequest* req,
                                                  fc::v1::TrackingJsonReply* reply) override;
  grpc::ServerUnaryReactor* GetCircuit(grpc::CallbackServerContext* ctx, const fc::v1::GetCircuitRequest* req,
                                       fc::v1::TrackingJsonReply* reply) override;
  grpc::ServerUnaryReactor* DiffCircuits(grpc::CallbackServerContext* ctx, const fc::v1::DiffCircuitsRequest* req,
                                         fc::v1::TrackingJsonReply* reply) override;
  grpc::ServerUnaryReactor* GetLineage(grpc::CallbackServerContext* ctx, const fc::v1::GetLineageRequest* req,
                                       fc::v1::TrackingJsonReply* reply) override;

 private:
  store::ReaderPool* readers_;
  const artifacts::BlobStore* blobs_;
};

}  // namespace fc::coord::tracking
