// Client: fcctl's connection to fc-coordinator. Every call has a deadline (timeout_ms) and
// returns fc::Status with the server's code and message unchanged (status_grpc codes are
// canonical, so a cast loses nothing). A refused connection is UNAVAILABLE; a deadline hit
// while the channel never connected is reported as UNAVAILABLE too, so that "unreachable"
// has one exit code.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/status.h"
#include "fc/v1/admin.grpc.pb.h"
#include "fc/v1/experiments.grpc.pb.h"

namespace fc::cli {

class Client {
 public:
  Client(std::string address, int64_t timeout_ms);

  const std::string& address() const { return address_; }

  Status Submit(const v1::SubmitExperimentRequest& req, v1::SubmitExperimentReply* reply);
  Status GetExperiment(const std::string& id, v1::GetExperimentReply* reply);
  Status CancelExperiment(const std::string& id, v1::CancelExperimentReply* reply);
  // All pages of ListJobs, merged into reply.
  Status ListJobs(v1::ListJobsRequest req, v1::ListJobsReply* reply);
  Status GetJob(const std::string& id, v1::GetJobReply* reply);
  Status CancelJob(const std::string& id, v1::CancelJobReply* reply);
  Status RetryJob(const std::string& id, v1::RetryJobReply* reply);
  Status ListWorkers(bool include_dead, v1::ListWorkersReply* reply);
  Status DrainWorker(const std::string& worker, bool undo, v1::DrainWorkerReply* reply);
  Status CordonWorker(const std::string& worker, bool undo, v1::CordonWorkerReply* reply);
  // Streams events with seq > after_seq for stream_ms at most, calling on_event for each;
  // on_event returns false to stop early (then OK is returned). DEADLINE_EXCEEDED when the
  // stream simply ran its time.
  Status Watch(const std::string& experiment_id, int64_t after_seq, int64_t stream_ms,
               const std::function<bool(const v1::Event&)>& on_event);

 private:
  void SetDeadline(grpc::ClientContext* ctx, int64_t ms) const;
  Status Convert(const grpc::Status& s) const;

  std::string address_;
  int64_t timeout_ms_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ExperimentService::Stub> experiments_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

}  // namespace fc::cli
