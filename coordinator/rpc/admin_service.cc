#include "coordinator/rpc/admin_service.h"

#include <boost/asio/post.hpp>

#include "coordinator/rpc/convert.h"

namespace fc::coord::rpc {
namespace pb = fc::v1;
using boost::asio::post;

grpc::ServerUnaryReactor* AdminService::ListWorkers(grpc::CallbackServerContext* ctx,
                                                    const pb::ListWorkersRequest* req,
                                                    pb::ListWorkersReply* reply) {
  Call call(ctx_.metrics, "ListWorkers", ctx->DefaultReactor());
  post(*ctx_.io, [this, req, reply, call] {
    for (const WorkerView& w : ctx_.scheduler->ListWorkers(req->include_dead())) ToProto(w, reply->add_workers());
    call.Finish(grpc::Status::OK);
  });
  return ctx->DefaultReactor();
}

grpc::ServerUnaryReactor* AdminService::DrainWorker(grpc::CallbackServerContext* ctx,
                                                    const pb::DrainWorkerRequest* req,
                                                    pb::DrainWorkerReply* reply) {
  Call call(ctx_.metrics, "DrainWorker", ctx->DefaultReactor());
  post(*ctx_.io, [this, req, reply, call] {
    ctx_.scheduler->SetDrain(req->worker(), req->undo(), [reply, call](StatusOr<WorkerView> r) {
      if (r.ok()) ToProto(*r, reply->mutable_worker());
      call.Finish(ToGrpc(r.status()));
    });
  });
  return ctx->DefaultReactor();
}

grpc::ServerUnaryReactor* AdminService::CordonWorker(grpc::CallbackServerContext* ctx,
                                                     const pb::CordonWorkerRequest* req,
                                                     pb::CordonWorkerReply* reply) {
  Call call(ctx_.metrics, "CordonWorker", ctx->DefaultReactor());
  post(*ctx_.io, [this, req, reply, call] {
    ctx_.scheduler->SetCordon(req->worker(), req->undo(), [reply, call](StatusOr<WorkerView> r) {
      if (r.ok()) ToProto(*r, reply->mutable_worker());
      call.Finish(ToGrpc(r.status()));
    });
  });
  return ctx->DefaultReactor();
}

}  // namespace fc::coord::rpc
