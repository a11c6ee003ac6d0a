#include "worker/transfer/artifact_client.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "coordinator/artifacts/sha256_hasher.h"
#include "worker/transfer/artifact_uri.h"
#include "worker/transfer/shared_fs_blob_transport.h"

namespace fc::transfer {
namespace fs = std::filesystem;
namespace {

bool Retryable(StatusCode c) {
  switch (c) {
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kAborted:
    case StatusCode::kDataLoss:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kInternal:
    case StatusCode::kUnknown:
    case StatusCode::kCancelled:  // a broken call; our own cancel is checked first
      return true;
    default:
      return false;
  }
}

bool IsCancelled(const CancelFn& cancelled) { return cancelled && cancelled(); }

StatusOr<std::string> ReadSmallFile(const std::string& path, int64_t limit) {
  struct stat sb;
  if (::stat(path.c_str(), &sb) != 0) return NotFoundError("'{}' does not exist", path);
  if (sb.st_size > limit) return InvalidArgumentError("'{}' is {} bytes, over the {} byte limit", path, sb.st_size, limit);
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in) return InternalError("cannot read '{}'", path);
  return ss.str();
}

}  // namespace

StatusOr<std::unique_ptr<ArtifactClient>> ArtifactClient::ForChannel(std::shared_ptr<grpc::Channel> channel,
                                                                     ArtifactClientOptions options) {
  FC_ASSIGN_OR_RETURN(auto cache, LocalCache::Open(options.cache_dir));
  auto transport = std::make_unique<GrpcBlobTransport>(std::move(channel), options.grpc);
  return std::make_unique<ArtifactClient>(std::move(transport), std::move(cache), std::move(options));
}

StatusOr<std::unique_ptr<ArtifactClient>> ArtifactClient::ForSharedDir(const std::string& dir,
                                                                       ArtifactClientOptions options) {
  FC_ASSIGN_OR_RETURN(auto cache, LocalCache::Open(options.cache_dir));
  FC_ASSIGN_OR_RETURN(auto store, artifacts::BlobStore::Open(dir));
  auto transport = std::make_unique<SharedFsBlobTransport>(std::move(store));
  return std::make_unique<ArtifactClient>(std::move(transport), std::move(cache), std::move(options));
}

ArtifactClient::ArtifactClient(std::unique_ptr<BlobTransport> transport, std::unique_ptr<LocalCache> cache,
                               ArtifactClientOptions options)
    : transport_(std::move(transport)), cache_(std::move(cache)), options_(std::move(options)) {
  options_.max_attempts = std::max(options_.max_attempts, 1);
}

Status ArtifactClient::Backoff(int attempt, const CancelFn& cancelled) const {
  int64_t ms = options_.retry_initial_ms;
  for (int i = 1; i < attempt && ms < options_.retry_max_ms; ++i) ms *= 2;
  ms = std::min<int64_t>(ms, options_.retry_max_ms);
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    if (IsCancelled(cancelled)) return CancelledError("artifact transfer cancelled");
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(ms, 50)));
  }
  return Status::OK();
}

StatusOr<PutResult> ArtifactClient::PutWithRetry(const std::string& path, const std::string& sha, int64_t size,
                                                 const std::string& kind, const CancelFn& cancelled) {
  Status last;
  // Another worker uploading the same blob (ABORTED) is waited for, not counted as a failure,
  // for as long as its transfer may take at the minimum rate.
  const auto wait_for_others_until =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(options_.grpc.base_timeout_ms +
                                size / std::max<int64_t>(options_.grpc.min_bytes_per_sec, 1) * 1000);
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    if (IsCancelled(cancelled)) return CancelledError("upload of '{}' cancelled", path);
    auto st = transport_->Stat(sha);
    if (st.ok() && st->exists) return PutResult{true, 0};
    if (st.ok()) {
      // Resume from what the store kept of an earlier attempt (possibly another worker's).
      int64_t offset = st->partial_bytes <= size ? st->partial_bytes : 0;
      auto put = transport_->Put(path, sha, size, offset, kind, cancelled);
      if (put.ok()) {
        bytes_sent_ += put->bytes_sent;
        if (offset > 0) spdlog::info("upload {} resumed at byte {} of {}", sha, offset, size);
        return put;
      }
      last = put.status();
    } else {
      last = st.status();
    }
    if (IsCancelled(cancelled)) return CancelledError("upload of '{}' cancelled", path);
    if (last.code() == StatusCode::kAborted && std::chrono::steady_clock::now() < wait_for_others_until) {
      --attempt;
      FC_RETURN_IF_ERROR(Backoff(options_.max_attempts, cancelled));
      continue;
    }
    if (!Retryable(last.code()) || attempt == options_.max_attempts) break;
    spdlog::warn("upload of '{}' ({}) attempt {} failed: {}; retrying", path, sha, attempt, last.ToString());
    FC_RETURN_IF_ERROR(Backoff(attempt, cancelled));
  }
  return last;
}

StatusOr<UploadResult> ArtifactClient::Upload(const std::string& path, const std::string& kind,
                                              const CancelFn& cancelled) {
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return NotFoundError("artifact '{}' does not exist", path);
  UploadResult out;
  if (fs::is_regular_file(st)) {
    FC_ASSIGN_OR_RETURN(out.sha256, artifacts::Sha256File(path, &out.size));
    FC_ASSIGN_OR_RETURN(PutResult put, PutWithRetry(path, out.sha256, out.size, kind, cancelled));
    out.bytes_sent = put.bytes_sent;
    cache_->Adopt(path, out.sha256);
    return out;
  }
  if (!fs::is_directory(st)) return InvalidArgumentError("artifact '{}' is neither a file nor a directory", path);

  FC_ASSIGN_OR_RETURN(std::vector<TreeFile> files, ListTreeFiles(path));
  if (files.size() > kMaxTreeFiles) {
    return InvalidArgumentError("artifact '{}': {} files exceeds the limit of {}", path, files.size(), kMaxTreeFiles);
  }
  TreeManifest manifest;
  for (const TreeFile& f : files) {
    TreeEntry e;
    e.path = f.rel;
    FC_ASSIGN_OR_RETURN(e.sha256, artifacts::Sha256File(f.abs, &e.size));
    FC_ASSIGN_OR_RETURN(PutResult put, PutWithRetry(f.abs, e.sha256, e.size, "file", cancelled));
    out.bytes_sent += put.bytes_sent;
    cache_->Adopt(f.abs, e.sha256);
    manifest.files.push_back(std::move(e));
  }
  // The manifest goes through the cache: it is needed there anyway to materialise the tree.
  const std::string text = SerializeManifest(manifest);
  const std::string sha = artifacts::Sha256Hex(text);
  if (!cache_->blobs().Has(sha)) {
    static std::atomic<uint64_t> counter{0};  // concurrent uploads of one tree must not share it
    const std::string tmp = fmt::format("{}/tmp/{}.{}.{}.manifest", cache_->dir(), sha, getpid(), counter++);
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      f << text;
      if (!f.flush()) return InternalError("cannot write '{}'", tmp);
    }
    auto put = cache_->blobs().PutFile(tmp, sha);
    fs::remove(tmp, ec);
    FC_RETURN_IF_ERROR(put.status());
  }
  FC_ASSIGN_OR_RETURN(PutResult put, PutWithRetry(cache_->blobs().BlobPath(sha), sha,
                                                  static_cast<int64_t>(text.size()), kind, cancelled));
  out.bytes_sent += put.bytes_sent;
  out.sha256 = sha;
  out.size = manifest.TotalSize();
  out.is_tree = true;
  out.files = static_cast<int>(manifest.files.size());
  return out;
}

Status ArtifactClient::FetchOnce(const std::string& sha, const CancelFn& cancelled) {
  FC_ASSIGN_OR_RETURN(artifacts::BlobStat remote, transport_->Stat(sha));
  if (!remote.exists) return NotFoundError("blob {} is not in the artifact store ({})", sha, transport_->Describe());
  FC_ASSIGN_OR_RETURN(artifacts::BlobStat local, cache_->blobs().Stat(sha));
  int64_t offset = local.partial_bytes <= remote.size ? local.partial_bytes : 0;
  auto writer = cache_->blobs().BeginUpload(sha, remote.size, offset);
  if (writer.status().code() == StatusCode::kAlreadyExists) return Status::OK();
  FC_RETURN_IF_ERROR(writer.status());
  if (offset > 0) spdlog::info("download {} resumes at byte {} of {}", sha, offset, remote.size);
  artifacts::BlobWriter* w = writer->get();
  auto got = transport_->Get(
      sha, offset, remote.size,
      [this, w](const char* data, size_t n) {
        bytes_received_ += static_cast<int64_t>(n);
        return w->Append(data, n);
      },
      cancelled);
  FC_RETURN_IF_ERROR(got.status());
  // Commit re-checks the whole content's hash (resumed prefix included); on DATA_LOSS the
  // partial is gone and the next attempt starts from byte 0.
  return w->Commit();
}

Status ArtifactClient::FetchBlob(const std::string& sha, const CancelFn& cancelled) {
  FC_RETURN_IF_ERROR(artifacts::CheckSha256Hex(sha, "artifact"));
  auto lock = cache_->Lock("blob:" + sha);
  if (cache_->blobs().Has(sha)) {
    if (!options_.verify_on_use) return Status::OK();
    Status v = cache_->blobs().Verify(sha);  // a corrupt entry is deleted by Verify
    if (v.ok()) return v;
    if (v.code() != StatusCode::kDataLoss && v.code() != StatusCode::kNotFound) return v;
    spdlog::warn("artifact cache: {}; downloading it again", v.message());
  }
  Status last, data_loss;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    if (IsCancelled(cancelled)) return CancelledError("download of blob {} cancelled", sha);
    last = FetchOnce(sha, cancelled);
    if (last.ok()) return last;
    if (last.code() == StatusCode::kDataLoss) data_loss = last;
    // The store quarantines a blob that fails its own check: the next Stat finds nothing, but
    // the cause to report (and retry the job on) is the data loss.
    if (last.code() == StatusCode::kNotFound && !data_loss.ok()) return data_loss;
    if (IsCancelled(cancelled)) return CancelledError("download of blob {} cancelled", sha);
    if (!Retryable(last.code()) || attempt == options_.max_attempts) break;
    spdlog::warn("download of blob {} attempt {} failed: {}; retrying", sha, attempt, last.ToString());
    FC_RETURN_IF_ERROR(Backoff(attempt, cancelled));
  }
  return last;
}

StatusOr<std::string> ArtifactClient::MaterializeFile(const std::string& sha, const std::string& name,
                                                      const CancelFn& cancelled) {
  FC_RETURN_IF_ERROR(artifacts::CheckSha256Hex(sha, "artifact"));
  if (name.empty() || name.find('/') != std::string::npos) {
    return InvalidArgumentError("artifact {}: file name '{}' must be one path component", sha, name);
  }
  FC_RETURN_IF_ERROR(CheckRelativePath(name, "artifact file name"));
  auto lock = cache_->Lock("file:" + sha);
  const std::string path = cache_->FilePath(sha, name);
  std::error_code ec;
  if (fs::exists(path, ec)) {
    if (!options_.verify_on_use) return path;
    auto h = artifacts::Sha256File(path);
    if (h.ok() && *h == sha) return path;
    spdlog::warn("artifact cache: '{}' no longer hashes to {}; downloading it again", path, sha);
    fs::remove(path, ec);
    // It is (usually) a hard link of the blob: the blob is bad too.
    if (cache_->blobs().Has(sha) && !cache_->blobs().Verify(sha).ok()) (void)cache_->blobs().Remove(sha);
  }
  FC_RETURN_IF_ERROR(FetchBlob(sha, cancelled));
  return cache_->PlaceFile(sha, name);
}

StatusOr<std::string> ArtifactClient::MaterializeTree(const std::string& sha, const CancelFn& cancelled) {
  FC_RETURN_IF_ERROR(artifacts::CheckSha256Hex(sha, "artifact"));
  auto lock = cache_->Lock("tree:" + sha);
  FC_RETURN_IF_ERROR(FetchBlob(sha, cancelled));
  FC_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(cache_->blobs().BlobPath(sha), kMaxManifestBytes));
  FC_ASSIGN_OR_RETURN(TreeManifest manifest, ParseManifest(text, sha));
  const std::string dir = cache_->TreePath(sha);
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!options_.verify_on_use) return dir;
    Status v = cache_->VerifyTree(sha, manifest);
    if (v.ok()) return dir;
    spdlog::warn("artifact cache: {}; rebuilding it", v.message());
    fs::remove_all(dir, ec);
    if (ec) return InternalError("cannot remove '{}': {}", dir, ec.message());
  }
  for (const TreeEntry& e : manifest.files) {
    FC_RETURN_IF_ERROR(FetchBlob(e.sha256, cancelled));
    FC_ASSIGN_OR_RETURN(artifacts::BlobStat st, cache_->blobs().Stat(e.sha256));
    if (st.size != e.size) {
      return DataLossError("tree {}: '{}' is {} bytes, its manifest says {}", sha, e.path, st.size, e.size);
    }
  }
  return cache_->PlaceTree(sha, manifest);
}

StatusOr<std::string> ArtifactClient::Materialize(const std::string& uri, const CancelFn& cancelled) {
  FC_ASSIGN_OR_RETURN(BlobUri u, ParseBlobUri(uri));
  if (u.is_tree()) return MaterializeTree(u.sha256, cancelled);
  return MaterializeFile(u.sha256, u.file_name, cancelled);
}

}  // namespace fc::transfer
