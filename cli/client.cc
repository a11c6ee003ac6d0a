#include "cli/client.h"

#include <chrono>

namespace fc::cli {

Client::Client(std::string address, int64_t timeout_ms)
    : address_(std::move(address)), timeout_ms_(timeout_ms) {
  grpc::ChannelArguments args;
  // watch reconnects after a coordinator restart: do not let gRPC's own backoff grow to minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  channel_ = grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args);
  experiments_ = v1::ExperimentService::NewStub(channel_);
  admin_ = v1::AdminService::NewStub(channel_);
}

void Client::SetDeadline(grpc::ClientContext* ctx, int64_t ms) const {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
}

Status Client::Convert(const grpc::Status& s) const {
  if (s.ok()) return Status::OK();
  auto code = static_cast<StatusCode>(s.error_code());
  if (code == StatusCode::kDeadlineExceeded &&
      channel_->GetState(false) != GRPC_CHANNEL_READY) {
    return UnavailableError("no connection within the deadline: {}", s.error_message());
  }
  return Status(code, s.error_message());
}

#define FC_CLI_UNARY(stub, Method, req, reply)    \
  grpc::ClientContext ctx;                        \
  SetDeadline(&ctx, timeout_ms_);                 \
  return Convert(stub->Method(&ctx, req, reply))

Status Client::Submit(const v1::SubmitExperimentRequest& req, v1::SubmitExperimentReply* reply) {
  FC_CLI_UNARY(experiments_, SubmitExperiment, req, reply);
}

Status Client::GetExperiment(const std::string& id, v1::GetExperimentReply* reply) {
  v1::GetExperimentRequest req;
  req.set_id(id);
  FC_CLI_UNARY(experiments_, GetExperiment, req, reply);
}

Status Client::CancelExperiment(const std::string& id, v1::CancelExperimentReply* reply) {
  v1::CancelExperimentRequest req;
  req.set_id(id);
  req.set_reason("fcctl cancel");
  FC_CLI_UNARY(experiments_, CancelExperiment, req, reply);
}

Status Client::GetJob(const std::string& id, v1::GetJobReply* reply) {
  v1::GetJobRequest req;
  req.set_id(id);
  FC_CLI_UNARY(experiments_, GetJob, req, reply);
}

Status Client::CancelJob(const std::string& id, v1::CancelJobReply* reply) {
  v1::CancelJobRequest req;
  req.set_id(id);
  req.set_reason("fcctl cancel");
  FC_CLI_UNARY(experiments_, CancelJob, req, reply);
}

Status Client::RetryJob(const std::string& id, v1::RetryJobReply* reply) {
  v1::RetryJobRequest req;
  req.set_id(id);
  FC_CLI_UNARY(experiments_, RetryJob, req, reply);
}

Status Client::ListWorkers(bool include_dead, v1::ListWorkersReply* reply) {
  v1::ListWorkersRequest req;
  req.set_include_dead(include_dead);
  FC_CLI_UNARY(admin_, ListWorkers, req, reply);
}

Status Client::DrainWorker(const std::string& worker, bool undo, v1::DrainWorkerReply* reply) {
  v1::DrainWorkerRequest req;
  req.set_worker(worker);
  req.set_undo(undo);
  FC_CLI_UNARY(admin_, DrainWorker, req, reply);
}

Status Client::CordonWorker(const std::string& worker, bool undo, v1::CordonWorkerReply* reply) {
  v1::CordonWorkerRequest req;
  req.set_worker(worker);
  req.set_undo(undo);
  FC_CLI_UNARY(admin_, CordonWorker, req, reply);
}

#undef FC_CLI_UNARY

Status Client::ListJobs(v1::ListJobsRequest req, v1::ListJobsReply* reply) {
  reply->Clear();
  if (req.page_size() == 0) req.set_page_size(500);
  for (int page = 0; page < 10000; ++page) {
    v1::ListJobsReply one;
    grpc::ClientContext ctx;
    SetDeadline(&ctx, timeout_ms_);
    FC_RETURN_IF_ERROR(Convert(experiments_->ListJobs(&ctx, req, &one)));
    for (v1::Job& j : *one.mutable_jobs()) *reply->add_jobs() = std::move(j);
    if (one.next_page_token().empty() || one.next_page_token() == req.page_token()) break;
    req.set_page_token(one.next_page_token());
  }
  return Status::OK();
}

Status Client::Watch(const std::string& experiment_id, int64_t after_seq, int64_t stream_ms,
                     const std::function<bool(const v1::Event&)>& on_event) {
  v1::WatchRequest req;
  req.set_experiment_id(experiment_id);
  req.set_after_seq(after_seq);
  grpc::ClientContext ctx;
  SetDeadline(&ctx, stream_ms);
  std::unique_ptr<grpc::ClientReader<v1::Event>> reader = experiments_->Watch(&ctx, req);
  v1::Event ev;
  while (reader->Read(&ev)) {
    if (!on_event(ev)) {
      ctx.TryCancel();
      reader->Finish().IgnoreError();
      return Status::OK();
    }
  }
  return Convert(reader->Finish());
}

}  // namespace fc::cli
