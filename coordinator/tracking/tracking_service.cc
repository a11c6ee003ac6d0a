#include "coordinator/tracking/tracking_service.h"

#include "coordinator/rpc/convert.h"
#include "coordinator/tracking/report.h"

namespace fc::coord::tracking {
namespace {

using Query = std::function<StatusOr<nlohmann::json>(store::Connection&)>;

// Runs `q` on a reader thread and finishes the call with its JSON or its error.
grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* ctx, store::ReaderPool* readers,
                                fc::v1::TrackingJsonReply* reply, Query q) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  readers->Post([reactor, reply, q = std::move(q)](store::Connection& conn) {
    StatusOr<nlohmann::json> r = q(conn);
    if (r.ok()) reply->set_json(r->dump());
    reactor->Finish(rpc::ToGrpc(r.status()));
  });
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* TrackingService::GetExperimentTracking(grpc::CallbackServerContext* ctx,
                                                                 const fc::v1::GetExperimentTrackingRequest* req,
                                                                 fc::v1::TrackingJsonReply* reply) {
  std::string id = req->experiment_id();
  return Serve(ctx, readers_, reply, [id, b = blobs_](store::Connection& c) { return ExperimentTrackingJson(c, id, b); });
}

grpc::ServerUnaryReactor* TrackingService::GetCircuit(grpc::CallbackServerContext* ctx,
                                                      const fc::v1::GetCircuitRequest* req,
                                                      fc::v1::TrackingJsonReply* reply) {
  std::string id = req->circuit_id();
  return Serve(ctx, readers_, reply, [id](store::Connection& c) { return CircuitJson(c, id); });
}

grpc::ServerUnaryReactor* TrackingService::DiffCircuits(grpc::CallbackServerContext* ctx,
                                                        const fc::v1::DiffCircuitsRequest* req,
                                                        fc::v1::TrackingJsonReply* reply) {
  std::string a = req->before(), b = req->after();
  return Serve(ctx, readers_, reply, [a, b, blobs = blobs_](store::Connection& c) { return CircuitDiffJson(c, a, b, blobs); });
}

grpc::ServerUnaryReactor* TrackingService::GetLineage(grpc::CallbackServerContext* ctx,
                                                      const fc::v1::GetLineageRequest* req,
                                                      fc::v1::TrackingJsonReply* reply) {
  std::string ref = req->checkpoint();
  return Serve(ctx, readers_, reply, [ref](store::Connection& c) { return LineageJson(c, ref); });
}

}  // namespace fc::coord::tracking
