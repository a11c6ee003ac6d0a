#include "coordinator/rpc/worker_service.h"

#include <boost/asio/post.hpp>

#include "coordinator/rpc/convert.h"

namespace fc::coord::rpc {
namespace {
namespace pb = fc::v1;
using boost::asio::post;
constexpr size_t kMaxResultBytes = 4 << 20;
}  // namespace

grpc::ServerUnaryReactor* WorkerService::RegisterWorker(grpc::CallbackServerContext* ctx,
                                                        const pb::RegisterWorkerRequest* req,
                                                        pb::RegisterWorkerReply* reply) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "RegisterWorker", reactor);
  RegisterRequest r;
  r.name = req->name();
  r.device = req->device();
  r.engine_version = req->engine_version();
  r.slots = req->slots() == 0 ? 1 : req->slots();
  r.resources = FromProto(req->resources());
  r.kinds.assign(req->kinds().begin(), req->kinds().end());
  for (const auto& f : req->running()) r.running.push_back(FromProto(f));
  auto shared = std::make_shared<RegisterRequest>(std::move(r));
  post(*ctx_.io, [this, shared, reply, call] {
    ctx_.scheduler->RegisterWorker(std::move(*shared), [this, reply, call](StatusOr<RegisterResult> res) {
      if (res.ok()) {
        reply->set_worker_id(res->worker_id);
        reply->set_heartbeat_interval_ms(ctx_.heartbeat_ms);
        reply->set_lease_ttl_ms(ctx_.lease_ttl_ms);
        for (const Fence& f : res->rejected) ToProto(f, reply->add_rejected());
      }
      call.Finish(ToGrpc(res.status()));
    });
  });
  return reactor;
}

grpc::ServerUnaryReactor* WorkerService::AcquireJob(grpc::CallbackServerContext* ctx,
                                                    const pb::AcquireJobRequest* req,
                                                    pb::AcquireJobReply* reply) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "AcquireJob", reactor);
  post(*ctx_.io, [this, req, reply, call] {
    ctx_.scheduler->AcquireJobs(req->worker_id(), std::max(1, req->free_slots()), req->wait_ms(),
                                [reply, call](StatusOr<std::vector<Lease>> r) {
                                  if (r.ok()) {
                                    for (const Lease& l : *r) ToProto(l, reply->add_jobs());
                                  }
                                  call.Finish(ToGrpc(r.status()));
                                });
  });
  return reactor;
}

grpc::ServerUnaryReactor* WorkerService::Heartbeat(grpc::CallbackServerContext* ctx,
                                                   const pb::HeartbeatRequest* req,
                                                   pb::HeartbeatReply* reply) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "Heartbeat", reactor);
  post(*ctx_.io, [this, req, reply, call] {
    std::vector<Fence> running;
    for (const auto& f : req->running()) running.push_back(FromProto(f));
    auto r = ctx_.scheduler->Heartbeat(req->worker_id(), running);
    if (r.ok()) {
      for (const auto& id : r->cancel_job_ids) reply->add_cancel_job_ids(id);
      for (const Fence& f : r->stale) ToProto(f, reply->add_stale());
      reply->set_drain(r->drain);
    }
    call.Finish(ToGrpc(r.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* WorkerService::ReportStarted(grpc::CallbackServerContext* ctx,
                                                       const pb::ReportStartedRequest* req,
                                                       pb::ReportStartedReply*) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "ReportStarted", reactor);
  post(*ctx_.io, [this, req, call] {
    ctx_.scheduler->ReportStarted(FromProto(req->fence()), [call](Status s) { call.Finish(ToGrpc(s)); });
  });
  return reactor;
}

grpc::ServerUnaryReactor* WorkerService::ReportProgress(grpc::CallbackServerContext* ctx,
                                                        const pb::ReportProgressRequest* req,
                                                        pb::ReportProgressReply* reply) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "ReportProgress", reactor);
  post(*ctx_.io, [this, req, reply, call] {
    ctx_.scheduler->ReportProgress(FromProto(req->fence()), req->progress(), req->message(), req->metrics_json(),
                                   [reply, call](StatusOr<bool> r) {
                                     if (r.ok()) reply->set_cancel(*r);
                                     call.Finish(ToGrpc(r.status()));
                                   });
  });
  return reactor;
}

grpc::ServerUnaryReactor* WorkerService::ReportComplete(grpc::CallbackServerContext* ctx,
                                                        const pb::ReportCompleteRequest* req,
                                                        pb::ReportCompleteReply*) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "ReportComplete", reactor);
  if (req->result_json().size() > kMaxResultBytes) {
    call.Finish(ToGrpc(ResourceExhaustedError("job {} field 'result_json': {} bytes, at most {}",
                                              req->fence().job_id(), req->result_json().size(), kMaxResultBytes)));
    return reactor;
  }
  std::vector<Artifact> outputs;
  for (const auto& a : req->outputs()) outputs.push_back(FromProto(a));
  auto shared = std::make_shared<std::vector<Artifact>>(std::move(outputs));
  post(*ctx_.io, [this, req, shared, call] {
    ctx_.scheduler->ReportComplete(FromProto(req->fence()), std::move(*shared), req->result_json(),
                                   [call](Status s) { call.Finish(ToGrpc(s)); });
  });
  return reactor;
}

grpc::ServerUnaryReactor* WorkerService::ReportFailed(grpc::CallbackServerContext* ctx,
                                                      const pb::ReportFailedRequest* req,
                                                      pb::ReportFailedReply*) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "ReportFailed", reactor);
  post(*ctx_.io, [this, req, call] {
    ctx_.scheduler->ReportFailed(FromProto(req->fence()), req->error(), req->permanent(),
                                 req->cancelled(), [call](Status s) { call.Finish(ToGrpc(s)); });
  });
  return reactor;
}

grpc::ServerUnaryReactor* WorkerService::ReleaseJob(grpc::CallbackServerContext* ctx,
                                                    const pb::ReleaseJobRequest* req,
                                                    pb::ReleaseJobReply*) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "ReleaseJob", reactor);
  post(*ctx_.io, [this, req, call] {
    ctx_.scheduler->ReleaseJob(FromProto(req->fence()), req->reason(),
                               [call](Status s) { call.Finish(ToGrpc(s)); });
  });
  return reactor;
}

}  // namespace fc::coord::rpc
