// fc.v1.TrackingService: the tracking views of report.h over gRPC, each query run on a store
// reader thread (never the io thread), answered as JSON (TrackingJsonReply.json).
#pragma once

#include "coordinator/store/reader_pool.h"
#include "fc/v1/tracking.grpc.pb.h"

namespace fc::coord::tracking {

class TrackingService final : public fc::v1::TrackingService::CallbackService {
 public:
  explicit TrackingService(store::ReaderPool* readers) : readers_(readers) {}

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
};

}  // namespace fc::coord::tracking
