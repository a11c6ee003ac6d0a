#include "coordinator/rpc/admin_service.h"

#include <boost/asio/post.hpp>

#include "coordinator/rpc/convert.h"

namespace fc::coord::rpc {
namespace pb = fc::v1;
using boost::asio::post;

grpc::ServerUnaryReactor* AdminService::ListWorkers(grpc::CallbackServerContext* ctx,
                                                    const pb::ListWorkersRequest* req,
                                                    pb::ListWorkersReply* reply) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "ListWorkers", reactor);
  post(*ctx_.io, [this, req, reply, call] {
    for (const WorkerView& w : ctx_.scheduler->ListWorkers(req->include_dead())) ToProto(w, reply->add_workers());
    call.Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::DrainWorker(grpc::CallbackServerContext* ctx,
                                                    const pb::DrainWorkerRequest* req,
                                                    pb::DrainWorkerReply* reply) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "DrainWorker", reactor);
  post(*ctx_.io, [this, req, reply, call] {
    ctx_.scheduler->SetDrain(req->worker(), req->undo(), [reply, call](StatusOr<WorkerView> r) {
      if (r.ok()) ToProto(*r, reply->mutable_worker());
      call.Finish(ToGrpc(r.status()));
    });
  });
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::CordonWorker(grpc::CallbackServerContext* ctx,
                                                     const pb::CordonWorkerRequest* req,
                                                     pb::CordonWorkerReply* reply) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "CordonWorker", reactor);
  post(*ctx_.io, [this, req, reply, call] {
    ctx_.scheduler->SetCordon(req->worker(), req->undo(), [reply, call](StatusOr<WorkerView> r) {
      if (r.ok()) ToProto(*r, reply->mutable_worker());
      call.Finish(ToGrpc(r.status()));
    });
  });
  return reactor;
}

}  // namespace fc::coord::rpc
