#include "coordinator/rpc/experiment_service.h"

#include <atomic>
#include <deque>
#include <mutex>

#include <boost/asio/post.hpp>

#include "common/dag/parser.h"
#include "coordinator/rpc/convert.h"
#include "coordinator/store/job_store.h"

namespace fc::coord::rpc {
namespace {

namespace pb = fc::v1;
using boost::asio::post;

constexpr size_t kMaxSpecBytes = 8 << 20;
constexpr int kWatchReadBatch = 512;

// One Watch stream. The reactor is owned by gRPC (deleted in OnDone); everything async holds
// the shared State, which forgets the reactor once it is done.
class WatchReactor : public grpc::ServerWriteReactor<pb::Event> {
 public:
  class State : public WatchListener, public std::enable_shared_from_this<State> {
   public:
    State(ServiceContext ctx, WatchReactor* r, std::string exp, int64_t after)
        : ctx_(ctx), reactor_(r), filter_(std::move(exp)), queued_to_(after) {}
    const std::string& experiment_filter() const override { return filter_; }

    void OnCommitted(int64_t max_seq) override {
      std::lock_guard<std::recursive_mutex> l(mu_);
      known_max_ = std::max(known_max_, max_seq);
      PumpLocked();
    }
    void OnWriteDone(bool ok) {
      std::lock_guard<std::recursive_mutex> l(mu_);
      writing_ = false;
      if (!ok) return FinishLocked(grpc::Status::CANCELLED);
      PumpLocked();
    }
    void Cancel() {
      std::lock_guard<std::recursive_mutex> l(mu_);
      FinishLocked(grpc::Status::CANCELLED);
    }
    void Done() {
      std::lock_guard<std::recursive_mutex> l(mu_);
      reactor_ = nullptr;
    }

   private:
    // Writes the next buffered event, or reads more from the store when the buffer ran dry.
    void PumpLocked() {
      if (!reactor_ || finished_) return;
      if (!writing_ && !buffer_.empty()) {
        current_ = std::move(buffer_.front());
        buffer_.pop_front();
        writing_ = true;
        reactor_->StartWrite(&current_);
        return;
      }
      if (writing_ || reading_ || !buffer_.empty() || queued_to_ >= known_max_) return;
      reading_ = true;
      const int64_t after = queued_to_, target = known_max_;
      auto self = shared_from_this();
      ctx_.store->readers().Post([self, after, target](store::Connection& conn) {
        auto events = store::ReadEvents(conn, self->filter_, after, kWatchReadBatch);
        std::lock_guard<std::recursive_mutex> l(self->mu_);
        self->reading_ = false;
        if (!events.ok()) return self->FinishLocked(ToGrpc(events.status()));
        for (const EventRow& e : *events) {
          pb::Event ev;
          ToProto(e, &ev);
          self->buffer_.push_back(std::move(ev));
        }
        int64_t last = events->empty() ? after : events->back().seq;
        // A short read saw every committed event up to `target`.
        self->queued_to_ = static_cast<int>(events->size()) < kWatchReadBatch ? std::max(last, target) : last;
        self->PumpLocked();
      });
    }
    void FinishLocked(const grpc::Status& s) {
      if (!reactor_ || finished_) return;
      finished_ = true;
      reactor_->Finish(s);
    }

    ServiceContext ctx_;
    std::recursive_mutex mu_;  // gRPC may run a reaction inline
    WatchReactor* reactor_;
    const std::string filter_;
    int64_t queued_to_;  // every matching event <= this is buffered or written
    int64_t known_max_ = 0;
    bool writing_ = false, reading_ = false, finished_ = false;
    std::deque<pb::Event> buffer_;
    pb::Event current_;
  };

  WatchReactor(ServiceContext ctx, const pb::WatchRequest* req) : ctx_(ctx) {
    static std::atomic<uint64_t> next_id{1};
    id_ = next_id++;
    state_ = std::make_shared<State>(ctx, this, req->experiment_id(), req->after_seq());
    auto state = state_;
    uint64_t id = id_;
    post(*ctx.io, [ctx, state, id] {
      int64_t max_seq = ctx.hub->Add(id, state);
      state->OnCommitted(max_seq);
    });
  }
  void OnWriteDone(bool ok) override { state_->OnWriteDone(ok); }
  void OnCancel() override { state_->Cancel(); }
  void OnDone() override {
    state_->Done();
    ServiceContext ctx = ctx_;
    uint64_t id = id_;
    post(*ctx.io, [ctx, id] { ctx.hub->Remove(id); });
    ctx_.metrics->Record("Watch", grpc::StatusCode::OK, 0);
    delete this;
  }

 private:
  ServiceContext ctx_;
  uint64_t id_;
  std::shared_ptr<State> state_;
};

}  // namespace

grpc::ServerUnaryReactor* ExperimentService::SubmitExperiment(grpc::CallbackServerContext* ctx,
                                                              const pb::SubmitExperimentRequest* req,
                                                              pb::SubmitExperimentReply* reply) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "SubmitExperiment", reactor);
  if (req->spec().size() > kMaxSpecBytes) {
    call.Finish(ToGrpc(ResourceExhaustedError("spec is {} bytes, at most {}", req->spec().size(), kMaxSpecBytes)));
    return reactor;
  }
  // Parsing is pure CPU on this callback thread; nothing is stored unless it is all valid.
  auto spec = dag::ParseExperiment(req->spec(), req->source_name());
  if (!spec.ok()) {
    call.Finish(ToGrpc(spec.status()));
    return reactor;
  }
  SubmitRequest sr{std::move(*spec), req->spec(), req->idempotency_key()};
  auto shared = std::make_shared<SubmitRequest>(std::move(sr));
  post(*ctx_.io, [this, shared, reply, call] {
    ctx_.scheduler->Submit(std::move(*shared), [reply, call](StatusOr<SubmitResult> r) {
      if (r.ok()) {
        ToProto(r->experiment.row, r->experiment.jobs_by_state, reply->mutable_experiment());
        reply->set_existed(r->existed);
      }
      call.Finish(ToGrpc(r.status()));
    });
  });
  return reactor;
}

grpc::ServerUnaryReactor* ExperimentService::GetExperiment(grpc::CallbackServerContext* ctx,
                                                           const pb::GetExperimentRequest* req,
                                                           pb::GetExperimentReply* reply) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "GetExperiment", reactor);
  ctx_.store->readers().Post([req, reply, call](store::Connection& conn) {
    auto e = store::GetExperiment(conn, req->id());
    if (!e.ok()) return call.Finish(ToGrpc(e.status()));
    if (!*e) return call.Finish(ToGrpc(NotFoundError("experiment '{}' not found", req->id())));
    auto counts = store::CountJobsByState(conn, req->id());
    if (!counts.ok()) return call.Finish(ToGrpc(counts.status()));
    ToProto(**e, *counts, reply->mutable_experiment());
    store::JobFilter f;
    f.experiment_id = req->id();
    std::string token;
    do {
      auto page = store::ListJobs(conn, f, 1000, token);
      if (!page.ok()) return call.Finish(ToGrpc(page.status()));
      for (const JobRow& j : page->jobs) ToProto(j, reply->add_jobs());
      token = page->next_page_token;
    } while (!token.empty());
    call.Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ExperimentService::ListExperiments(grpc::CallbackServerContext* ctx,
                                                             const pb::ListExperimentsRequest* req,
                                                             pb::ListExperimentsReply* reply) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "ListExperiments", reactor);
  ctx_.store->readers().Post([req, reply, call](store::Connection& conn) {
    auto page = store::ListExperiments(conn, req->name_prefix(),
                                       static_cast<ExperimentState>(req->state()), req->page_size(),
                                       req->page_token());
    if (!page.ok()) return call.Finish(ToGrpc(page.status()));
    for (const ExperimentRow& e : page->experiments) {
      auto counts = store::CountJobsByState(conn, e.id);
      if (!counts.ok()) return call.Finish(ToGrpc(counts.status()));
      ToProto(e, *counts, reply->add_experiments());
    }
    reply->set_next_page_token(page->next_page_token);
    call.Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ExperimentService::CancelExperiment(grpc::CallbackServerContext* ctx,
                                                              const pb::CancelExperimentRequest* req,
                                                              pb::CancelExperimentReply* reply) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "CancelExperiment", reactor);
  post(*ctx_.io, [this, req, reply, call] {
    ctx_.scheduler->CancelExperiment(req->id(), req->reason(), [reply, call](StatusOr<ExperimentView> r) {
      if (r.ok()) ToProto(r->row, r->jobs_by_state, reply->mutable_experiment());
      call.Finish(ToGrpc(r.status()));
    });
  });
  return reactor;
}

grpc::ServerWriteReactor<pb::Event>* ExperimentService::Watch(grpc::CallbackServerContext* ctx,
                                                             const pb::WatchRequest* req) {
  (void)ctx;
  return new WatchReactor(ctx_, req);
}

grpc::ServerUnaryReactor* ExperimentService::GetJob(grpc::CallbackServerContext* ctx,
                                                    const pb::GetJobRequest* req, pb::GetJobReply* reply) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "GetJob", reactor);
  ctx_.store->readers().Post([req, reply, call](store::Connection& conn) {
    auto j = store::GetJob(conn, req->id());
    if (!j.ok()) return call.Finish(ToGrpc(j.status()));
    if (!*j) return call.Finish(ToGrpc(NotFoundError("job '{}' not found", req->id())));
    ToProto(**j, reply->mutable_job());
    call.Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ExperimentService::ListJobs(grpc::CallbackServerContext* ctx,
                                                      const pb::ListJobsRequest* req,
                                                      pb::ListJobsReply* reply) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "ListJobs", reactor);
  ctx_.store->readers().Post([req, reply, call](store::Connection& conn) {
    store::JobFilter f;
    f.experiment_id = req->experiment_id();
    f.state = static_cast<JobState>(req->state());
    f.kind = req->kind();
    f.worker_id = req->worker_id();
    auto page = store::ListJobs(conn, f, req->page_size(), req->page_token());
    if (!page.ok()) return call.Finish(ToGrpc(page.status()));
    for (const JobRow& j : page->jobs) ToProto(j, reply->add_jobs());
    reply->set_next_page_token(page->next_page_token);
    call.Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ExperimentService::CancelJob(grpc::CallbackServerContext* ctx,
                                                       const pb::CancelJobRequest* req,
                                                       pb::CancelJobReply* reply) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "CancelJob", reactor);
  post(*ctx_.io, [this, req, reply, call] {
    ctx_.scheduler->CancelJob(req->id(), req->reason(), [reply, call](StatusOr<JobRow> r) {
      if (r.ok()) ToProto(*r, reply->mutable_job());
      call.Finish(ToGrpc(r.status()));
    });
  });
  return reactor;
}

grpc::ServerUnaryReactor* ExperimentService::RetryJob(grpc::CallbackServerContext* ctx,
                                                      const pb::RetryJobRequest* req,
                                                      pb::RetryJobReply* reply) {
  // DefaultReactor() re-initialises the reactor on every call: take it once.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Call call(ctx_.metrics, "RetryJob", reactor);
  post(*ctx_.io, [this, req, reply, call] {
    ctx_.scheduler->RetryJob(req->id(), [reply, call](StatusOr<JobRow> r) {
      if (r.ok()) ToProto(*r, reply->mutable_job());
      call.Finish(ToGrpc(r.status()));
    });
  });
  return reactor;
}

}  // namespace fc::coord::rpc
