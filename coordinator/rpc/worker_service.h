// fc.v1.WorkerService on the gRPC callback API. Every call posts to the io thread, where the
// scheduler decides, and finishes from the commit's completion (heartbeats change memory only
// and finish at once). AcquireJob long-polls inside the scheduler, not on a callback thread.
#pragma once

#include "coordinator/rpc/context.h"
#include "fc/v1/workers.grpc.pb.h"

namespace fc::coord::rpc {

class WorkerService final : public fc::v1::WorkerService::CallbackService {
 public:
  explicit WorkerService(ServiceContext ctx) : ctx_(ctx) {}

  grpc::ServerUnaryReactor* RegisterWorker(grpc::CallbackServerContext* ctx,
                                           const fc::v1::RegisterWorkerRequest* req,
                                           fc::v1::RegisterWorkerReply* reply) override;
  grpc::ServerUnaryReactor* AcquireJob(grpc::CallbackServerContext* ctx,
                                       const fc::v1::AcquireJobRequest* req,
                                       fc::v1::AcquireJobReply* reply) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* ctx,
                                      const fc::v1::HeartbeatRequest* req,
                                      fc::v1::HeartbeatReply* reply) override;
  grpc::ServerUnaryReactor* ReportStarted(grpc::CallbackServerContext* ctx,
                                          const fc::v1::ReportStartedRequest* req,
                                          fc::v1::ReportStartedReply* reply) override;
  grpc::ServerUnaryReactor* ReportProgress(grpc::CallbackServerContext* ctx,
                                           const fc::v1::ReportProgressRequest* req,
                                           fc::v1::ReportProgressReply* reply) override;
  grpc::ServerUnaryReactor* ReportComplete(grpc::CallbackServerContext* ctx,
                                           const fc::v1::ReportCompleteRequest* req,
                                           fc::v1::ReportCompleteReply* reply) override;
  grpc::ServerUnaryReactor* ReportFailed(grpc::CallbackServerContext* ctx,
                                         const fc::v1::ReportFailedRequest* req,
                                         fc::v1::ReportFailedReply* reply) override;
  grpc::ServerUnaryReactor* ReleaseJob(grpc::CallbackServerContext* ctx,
                                       const fc::v1::ReleaseJobRequest* req,
                                       fc::v1::ReleaseJobReply* reply) override;

 private:
  ServiceContext ctx_;
};

}  // namespace fc::coord::rpc
