#include "tests/coordinator/scripted_worker.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace fc::coord::testing {

namespace pb = fc::v1;

std::unique_ptr<grpc::ClientContext> Ctx(std::chrono::milliseconds limit) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + limit);
  return c;
}

ScriptedWorker::ScriptedWorker(const std::shared_ptr<grpc::Channel>& channel)
    : stub_(pb::WorkerService::NewStub(channel)) {}

bool ScriptedWorker::Register(const std::string& name) {
  pb::RegisterWorkerRequest req;
  req.set_name(name);
  req.set_slots(8);
  req.set_engine_version("test");
  pb::RegisterWorkerReply reply;
  grpc::Status s = stub_->RegisterWorker(Ctx().get(), req, &reply);
  EXPECT_TRUE(s.ok()) << name << ": " << s.error_message();
  name_ = name;
  id_ = reply.worker_id();
  return s.ok();
}

std::vector<pb::LeasedJob> ScriptedWorker::Acquire(int wait_ms) {
  pb::AcquireJobRequest req;
  req.set_worker_id(id_);
  req.set_free_slots(8);
  req.set_wait_ms(wait_ms);
  pb::AcquireJobReply reply;
  grpc::Status s = stub_->AcquireJob(Ctx().get(), req, &reply);
  EXPECT_TRUE(s.ok()) << name_ << ": " << s.error_message();
  return {reply.jobs().begin(), reply.jobs().end()};
}

bool ScriptedWorker::Matches(const pb::LeasedJob& l, const std::string& key) {
  return l.job().name() == key || l.job().id() == key;
}

pb::LeasedJob ScriptedWorker::Take(const std::string& key, int max_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_ms);
  while (std::chrono::steady_clock::now() < end) {
    for (auto it = held_.begin(); it != held_.end(); ++it) {
      if (Matches(*it, key)) {
        pb::LeasedJob l = *it;
        held_.erase(it);
        return l;
      }
    }
    for (auto& j : Acquire()) held_.push_back(std::move(j));
  }
  ADD_FAILURE() << key << " was never leased to " << name_;
  return {};
}

bool ScriptedWorker::Holds(const std::string& key) const {
  for (const auto& l : held_) {
    if (Matches(l, key)) return true;
  }
  return false;
}

void ScriptedWorker::Complete(const pb::LeasedJob& lease, const Outputs& outputs, const std::string& result_json,
                              const std::string& kind) {
  pb::ReportCompleteRequest req;
  *req.mutable_fence() = lease.fence();
  req.set_result_json(result_json);
  for (const auto& [n, uri] : outputs) {
    auto* a = req.add_outputs();
    a->set_name(n);
    a->set_uri(uri);
    if (!kind.empty()) a->set_kind(kind);
  }
  pb::ReportCompleteReply reply;
  grpc::Status s = stub_->ReportComplete(Ctx().get(), req, &reply);
  ASSERT_TRUE(s.ok()) << lease.job().name() << ": " << s.error_message();
}

grpc::Status ScriptedWorker::Progress(const pb::LeasedJob& lease, double progress, const std::string& metrics_json,
                                      const std::string& message) {
  pb::ReportProgressRequest req;
  *req.mutable_fence() = lease.fence();
  req.set_progress(progress);
  if (!message.empty()) req.set_message(message);
  req.set_metrics_json(metrics_json);
  pb::ReportProgressReply reply;
  return stub_->ReportProgress(Ctx().get(), req, &reply);
}

grpc::Status ScriptedWorker::Checkpoint(const pb::LeasedJob& lease, int step, const std::string& parent,
                                        const std::string& path, double progress, const std::string& message) {
  nlohmann::json m = {{"checkpoint",
                       {{"step", step}, {"path", path}, {"parent", parent}, {"name", "checkpoint-" + std::to_string(step)},
                        {"loss", 1.0 / step}, {"accuracy", step / 40.0}, {"method", "lora"}}}};
  return Progress(lease, progress, m.dump(), message);
}

}  // namespace fc::coord::testing
