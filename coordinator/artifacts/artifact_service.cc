#include "coordinator/artifacts/artifact_service.h"

#include <spdlog/spdlog.h>

namespace fc::artifacts {
namespace {

namespace pb = ::fc::v1;

grpc::Status ToGrpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

}  // namespace

// One PutBlob stream: OnReadDone (callback thread) -> Process (blob thread) -> StartRead ...
// -> end of stream -> Commit (blob thread) -> Finish.
class ArtifactService::PutReactor final : public grpc::ServerReadReactor<pb::PutBlobRequest> {
 public:
  PutReactor(ArtifactService* svc, pb::PutBlobReply* reply) : svc_(svc), reply_(reply) { StartRead(&req_); }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client half-closed (or the call broke): commit what arrived
      if (!writer_ && !already_present_) {
        FinishWith(InvalidArgumentError("PutBlob: stream ended before the first message"));
        return;
      }
      svc_->pool_.Post([this] { Commit(); });
      return;
    }
    if (static_cast<int64_t>(req_.data().size()) > kMaxChunkBytes) {
      FinishWith(InvalidArgumentError("PutBlob: chunk of {} bytes exceeds the {} byte limit", req_.data().size(),
                                      kMaxChunkBytes));
      return;
    }
    svc_->pool_.Post([this] { Process(); });
  }
  void OnDone() override { delete this; }

 private:
  void Process() {
    if (!writer_) {
      sha_ = req_.sha256();
      auto w = svc_->store_->BeginUpload(sha_, req_.total_size(), req_.offset());
      if (w.status().code() == StatusCode::kAlreadyExists) {
        // Deduplicated: answer now; the client's remaining writes fail and it reads this reply.
        already_present_ = true;
        reply_->set_sha256(sha_);
        reply_->set_size(req_.total_size());
        reply_->set_already_present(true);
        FinishWith(Status::OK());
        return;
      }
      if (!w.ok()) {
        FinishWith(w.status().WithContext("PutBlob"));
        return;
      }
      writer_ = std::move(*w);
      start_offset_ = writer_->written();
    }
    Status s = writer_->Append(req_.data().data(), req_.data().size());
    svc_->CountIn(s.ok() ? req_.data().size() : 0);
    if (!s.ok()) {
      FinishWith(s.WithContext("PutBlob"));
      return;
    }
    StartRead(&req_);
  }

  void Commit() {
    if (already_present_) return;
    Status s = writer_->Commit();
    reply_->set_sha256(sha_);
    reply_->set_size(writer_->total_size());
    reply_->set_bytes_received(writer_->written() - start_offset_);
    if (s.ok()) svc_->CountStored();
    if (s.code() == StatusCode::kDataLoss) svc_->CountDataLoss();
    if (s.ok()) {
      spdlog::info("artifact stored sha={} size={} received={} resumed_from={}", sha_, writer_->total_size(),
                   writer_->written() - start_offset_, start_offset_);
    } else {
      spdlog::warn("artifact upload sha={} not stored: {}", sha_, s.ToString());
    }
    writer_.reset();  // close the partial and release the claim before the client hears back
    FinishWith(s.WithContext("PutBlob"));
  }

  void FinishWith(const Status& s) {
    writer_.reset();
    Finish(ToGrpc(s));
  }

  ArtifactService* svc_;
  pb::PutBlobReply* reply_;
  pb::PutBlobRequest req_;
  std::string sha_;
  std::unique_ptr<BlobWriter> writer_;
  int64_t start_offset_ = 0;
  bool already_present_ = false;
};

// One GetBlob stream: Open (blob thread) -> ReadNext (blob thread) -> StartWrite -> OnWriteDone
// -> ReadNext ... -> Finish. The BlobReader checks the hash before it returns the last chunk.
class ArtifactService::GetReactor final : public grpc::ServerWriteReactor<pb::GetBlobChunk> {
 public:
  GetReactor(ArtifactService* svc, const pb::GetBlobRequest* req)
      : svc_(svc), sha_(req->sha256()), offset_(req->offset()) {
    svc_->pool_.Post([this] { Open(); });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "GetBlob: the client went away"));
      return;
    }
    if (reader_->done()) {
      Finish(grpc::Status::OK);
      return;
    }
    svc_->pool_.Post([this] { ReadNext(); });
  }
  void OnDone() override { delete this; }

 private:
  void Open() {
    auto r = svc_->store_->OpenReader(sha_, offset_);
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kDataLoss) svc_->CountDataLoss();
      Finish(ToGrpc(r.status().WithContext("GetBlob")));
      return;
    }
    reader_ = std::move(*r);
    if (reader_->done()) {
      Finish(grpc::Status::OK);
      return;
    }
    ReadNext();
  }
  void ReadNext() {
    chunk_.set_offset(reader_->position());
    chunk_.set_total_size(reader_->size());
    Status s = reader_->Next(kMaxChunkBytes, chunk_.mutable_data());
    if (!s.ok()) {
      if (s.code() == StatusCode::kDataLoss) svc_->CountDataLoss();
      spdlog::error("artifact read sha={} failed: {}", sha_, s.ToString());
      Finish(ToGrpc(s.WithContext("GetBlob")));
      return;
    }
    svc_->CountOut(chunk_.data().size());
    StartWrite(&chunk_);
  }

  ArtifactService* svc_;
  const std::string sha_;
  const int64_t offset_;
  std::unique_ptr<BlobReader> reader_;
  pb::GetBlobChunk chunk_;
};

ArtifactService::ArtifactService(BlobStore* store, ArtifactServiceOptions options)
    : store_(store), pool_(options.io_threads) {
  if (coord::metrics::Registry* m = options.metrics) {
    const char* bytes_help = "Artifact data bytes received (in) and served (out)";
    bytes_in_ = m->GetCounter("fc_artifact_bytes_total", bytes_help, {{"direction", "in"}});
    bytes_out_ = m->GetCounter("fc_artifact_bytes_total", bytes_help, {{"direction", "out"}});
    stored_ = m->GetCounter("fc_artifact_blobs_stored_total", "Blobs verified and stored by uploads");
    data_loss_ = m->GetCounter("fc_artifact_data_loss_total",
                               "Uploads or reads whose content did not hash to its address");
  }
}

ArtifactService::~ArtifactService() = default;

grpc::ServerReadReactor<pb::PutBlobRequest>* ArtifactService::PutBlob(grpc::CallbackServerContext*,
                                                                      pb::PutBlobReply* reply) {
  return new PutReactor(this, reply);
}

grpc::ServerWriteReactor<pb::GetBlobChunk>* ArtifactService::GetBlob(grpc::CallbackServerContext*,
                                                                     const pb::GetBlobRequest* req) {
  return new GetReactor(this, req);
}

grpc::ServerUnaryReactor* ArtifactService::StatBlob(grpc::CallbackServerContext* ctx, const pb::StatBlobRequest* req,
                                                    pb::StatBlobReply* reply) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  pool_.Post([this, req, reply, reactor] {
    auto st = store_->Stat(req->sha256());
    if (st.ok()) {
      reply->set_exists(st->exists);
      reply->set_size(st->size);
      reply->set_partial_bytes(st->partial_bytes);
    }
    reactor->Finish(ToGrpc(st.status().WithContext("StatBlob")));
  });
  return reactor;
}

}  // namespace fc::artifacts
