// fc.v1.ExperimentService on the gRPC callback API: Submit/Cancel/Retry go to the scheduler on
// io; Get/List read committed rows through the reader pool; Watch streams the events table
// from after_seq and then live (see watch_hub.h).
#pragma once

#include "coordinator/rpc/context.h"
#include "fc/v1/experiments.grpc.pb.h"

namespace fc::coord::rpc {

class ExperimentService final : public fc::v1::ExperimentService::CallbackService {
 public:
  explicit ExperimentService(ServiceContext ctx) : ctx_(ctx) {}

  grpc::ServerUnaryReactor* SubmitExperiment(grpc::CallbackServerContext* ctx,
                                             const fc::v1::SubmitExperimentRequest* req,
                                             fc::v1::SubmitExperimentReply* reply) override;
  grpc::ServerUnaryReactor* GetExperiment(grpc::CallbackServerContext* ctx,
                                          const fc::v1::GetExperimentRequest* req,
                                          fc::v1::GetExperimentReply* reply) override;
  grpc::ServerUnaryReactor* ListExperiments(grpc::CallbackServerContext* ctx,
                                            const fc::v1::ListExperimentsRequest* req,
                                            fc::v1::ListExperimentsReply* reply) override;
  grpc::ServerUnaryReactor* CancelExperiment(grpc::CallbackServerContext* ctx,
                                             const fc::v1::CancelExperimentRequest* req,
                                             fc::v1::CancelExperimentReply* reply) override;
  grpc::ServerWriteReactor<fc::v1::Event>* Watch(grpc::CallbackServerContext* ctx,
                                                 const fc::v1::WatchRequest* req) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* ctx, const fc::v1::GetJobRequest* req,
                                   fc::v1::GetJobReply* reply) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* ctx,
                                     const fc::v1::ListJobsRequest* req,
                                     fc::v1::ListJobsReply* reply) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* ctx,
                                      const fc::v1::CancelJobRequest* req,
                                      fc::v1::CancelJobReply* reply) override;
  grpc::ServerUnaryReactor* RetryJob(grpc::CallbackServerContext* ctx,
                                     const fc::v1::RetryJobRequest* req,
                                     fc::v1::RetryJobReply* reply) override;

 private:
  ServiceContext ctx_;
};

}  // namespace fc::coord::rpc
