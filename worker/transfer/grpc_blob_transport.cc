#include "worker/transfer/grpc_blob_transport.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace fc::transfer {
namespace {

namespace pb = ::fc::v1;

Status FromGrpc(const grpc::Status& s, const std::string& what) {
  if (s.ok()) return Status::OK();
  return Status(static_cast<StatusCode>(s.error_code()), what + ": " + s.error_message());
}

}  // namespace

GrpcBlobTransport::GrpcBlobTransport(std::shared_ptr<grpc::Channel> channel, GrpcTransportOptions options)
    : stub_(pb::ArtifactService::NewStub(channel)), options_(options) {
  options_.chunk_bytes = std::clamp<int64_t>(options_.chunk_bytes, 1, int64_t{1} << 20);
  options_.min_bytes_per_sec = std::max<int64_t>(options_.min_bytes_per_sec, 1);
}

std::chrono::system_clock::time_point GrpcBlobTransport::Deadline(int64_t bytes) const {
  int64_t ms = options_.base_timeout_ms + bytes / options_.min_bytes_per_sec * 1000 +
               (bytes % options_.min_bytes_per_sec) * 1000 / options_.min_bytes_per_sec;
  return std::chrono::system_clock::now() + std::chrono::milliseconds(ms);
}

StatusOr<artifacts::BlobStat> GrpcBlobTransport::Stat(const std::string& sha) {
  pb::StatBlobRequest req;
  req.set_sha256(sha);
  pb::StatBlobReply reply;
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(0));
  FC_RETURN_IF_ERROR(FromGrpc(stub_->StatBlob(&ctx, req, &reply), "StatBlob " + sha));
  return artifacts::BlobStat{reply.exists(), reply.size(), reply.partial_bytes()};
}

StatusOr<PutResult> GrpcBlobTransport::Put(const std::string& path, const std::string& sha, int64_t size,
                                           int64_t offset, const std::string& kind, const CancelFn& cancelled) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFoundError("cannot open '{}' for upload: {}", path, std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};

  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(size - offset));
  pb::PutBlobReply reply;
  std::unique_ptr<grpc::ClientWriter<pb::PutBlobRequest>> writer = stub_->PutBlob(&ctx, &reply);
  pb::PutBlobRequest msg;
  msg.set_sha256(sha);
  msg.set_total_size(size);
  msg.set_kind(kind);
  msg.set_offset(offset);
  int64_t pos = offset;
  bool first = true;
  Status local_error;
  while (first || pos < size) {
    if (cancelled && cancelled()) {
      ctx.TryCancel();
      local_error = CancelledError("upload of '{}' cancelled at byte {}", path, pos);
      break;
    }
    size_t want = static_cast<size_t>(std::min(size - pos, options_.chunk_bytes));
    std::string* data = msg.mutable_data();
    data->resize(want);
    size_t got = 0;
    while (got < want) {
      ssize_t r = ::pread(fd, data->data() + got, want - got, pos + static_cast<int64_t>(got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    if (got < want) {
      ctx.TryCancel();
      local_error = DataLossError("file '{}' shrank below {} bytes while uploading", path, size);
      break;
    }
    pos += static_cast<int64_t>(want);
    // A false Write means the server already finished the call (e.g. the blob exists): its
    // status and reply come from Finish below.
    if (!writer->Write(msg)) break;
    if (first) {
      first = false;
      msg.clear_sha256();
      msg.clear_total_size();
      msg.clear_kind();
      msg.clear_offset();
    }
  }
  if (local_error.ok()) writer->WritesDone();
  grpc::Status s = writer->Finish();
  if (!local_error.ok()) return local_error;
  FC_RETURN_IF_ERROR(FromGrpc(s, "PutBlob " + sha));
  return PutResult{reply.already_present(), reply.bytes_received()};
}

StatusOr<int64_t> GrpcBlobTransport::Get(const std::string& sha, int64_t offset, int64_t size, const BlobSink& sink,
                                         const CancelFn& cancelled) {
  pb::GetBlobRequest req;
  req.set_sha256(sha);
  req.set_offset(offset);
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(std::max<int64_t>(size - offset, 0)));
  std::unique_ptr<grpc::ClientReader<pb::GetBlobChunk>> reader = stub_->GetBlob(&ctx, req);
  pb::GetBlobChunk chunk;
  int64_t pos = offset;
  Status local_error;
  while (reader->Read(&chunk)) {
    if (chunk.offset() != pos) {
      local_error = DataLossError("GetBlob {}: chunk at offset {}, expected {}", sha, chunk.offset(), pos);
    } else if (cancelled && cancelled()) {
      local_error = CancelledError("download of blob {} cancelled at byte {}", sha, pos);
    } else {
      local_error = sink(chunk.data().data(), chunk.data().size());
    }
    if (!local_error.ok()) {
      ctx.TryCancel();
      break;
    }
    pos += static_cast<int64_t>(chunk.data().size());
  }
  grpc::Status s = reader->Finish();
  if (!local_error.ok()) return local_error;
  FC_RETURN_IF_ERROR(FromGrpc(s, "GetBlob " + sha));
  return pos - offset;
}

}  // namespace fc::transfer
