// fc.v1.AdminService: list workers (with their jobs), drain and cordon; all on the io thread.
#pragma once

#include "coordinator/rpc/context.h"
#include "fc/v1/admin.grpc.pb.h"

namespace fc::coord::rpc {

class AdminService final : public fc::v1::AdminService::CallbackService {
 public:
  explicit AdminService(ServiceContext ctx) : ctx_(ctx) {}
  grpc::ServerUnaryReactor* ListWorkers(grpc::CallbackServerContext* ctx,
                                        const fc::v1::ListWorkersRequest* req,
                                        fc::v1::ListWorkersReply* reply) override;
  grpc::ServerUnaryReactor* DrainWorker(grpc::CallbackServerContext* ctx,
                                        const fc::v1::DrainWorkerRequest* req,
                                        fc::v1::DrainWorkerReply* reply) override;
  grpc::ServerUnaryReactor* CordonWorker(grpc::CallbackServerContext* ctx,
                                         const fc::v1::CordonWorkerRequest* req,
                                         fc::v1::CordonWorkerReply* reply) override;

 private:
  ServiceContext ctx_;
};

}  // namespace fc::coord::rpc
