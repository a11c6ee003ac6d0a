#include "worker/transfer/local_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include <spdlog/spdlog.h>

#include "coordinator/artifacts/sha256_hasher.h"

namespace fc::transfer {
namespace fs = std::filesystem;
namespace {

std::string UniqueSuffix() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng(std::random_device{}());
  return fmt::format("{}.{}.{:x}", getpid(), counter.fetch_add(1), rng());
}

}  // namespace

Status LinkOrCopy(const std::string& from, const std::string& to) {
  if (::link(from.c_str(), to.c_str()) == 0) return Status::OK();
  if (errno == EEXIST) return InternalError("cannot link '{}': '{}' exists", from, to);
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::none, ec);
  if (ec) return InternalError("cannot copy '{}' to '{}': {}", from, to, ec.message());
  return Status::OK();
}

StatusOr<std::unique_ptr<LocalCache>> LocalCache::Open(const std::string& dir) {
  if (dir.empty()) return InvalidArgumentError("artifact cache: directory must not be empty");
  std::unique_ptr<LocalCache> c(new LocalCache(dir));
  artifacts::BlobStoreOptions o;
  o.quarantine_corrupt = false;  // the store has the good copy: a corrupt cache entry just goes
  o.stale_tmp_seconds = 24 * 3600;
  FC_ASSIGN_OR_RETURN(c->blobs_, artifacts::BlobStore::Open(dir, o));
  std::error_code ec;
  for (const char* sub : {"files", "trees"}) {
    fs::create_directories(fs::path(dir) / sub, ec);
    if (ec) return UnavailableError("artifact cache '{}': cannot create {}/: {}", dir, sub, ec.message());
  }
  return c;
}

std::string LocalCache::FilePath(const std::string& sha, const std::string& name) const {
  return fmt::format("{}/files/{}/{}", dir_, sha, name);
}

std::string LocalCache::TreePath(const std::string& sha) const { return fmt::format("{}/trees/{}", dir_, sha); }

std::unique_lock<std::mutex> LocalCache::Lock(const std::string& key) {
  std::shared_ptr<std::mutex> m;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto& slot = locks_[key];
    if (!slot) slot = std::make_shared<std::mutex>();
    m = slot;
  }
  // The map keeps the mutex alive for the process's lifetime (one entry per artifact used).
  return std::unique_lock<std::mutex>(*m);
}

StatusOr<std::string> LocalCache::PlaceFile(const std::string& sha, const std::string& name) {
  const std::string dest = FilePath(sha, name);
  std::error_code ec;
  fs::create_directories(fs::path(dest).parent_path(), ec);
  if (ec) return InternalError("cannot create '{}': {}", fs::path(dest).parent_path().string(), ec.message());
  const std::string tmp = fmt::format("{}/tmp/{}.{}.file", dir_, sha, UniqueSuffix());
  FC_RETURN_IF_ERROR(LinkOrCopy(blobs_->BlobPath(sha), tmp));
  fs::rename(tmp, dest, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return InternalError("cannot rename '{}' to '{}': {}", tmp, dest, ec.message());
  }
  return dest;
}

StatusOr<std::string> LocalCache::PlaceTree(const std::string& sha, const TreeManifest& manifest) {
  const std::string tmp = fmt::format("{}/tmp/{}.{}.tree", dir_, sha, UniqueSuffix());
  std::error_code ec;
  fs::create_directories(tmp, ec);
  if (ec) return InternalError("cannot create '{}': {}", tmp, ec.message());
  auto fail = [&](Status s) {
    std::error_code e2;
    fs::remove_all(tmp, e2);
    return s;
  };
  for (const TreeEntry& e : manifest.files) {
    // Paths were validated by ParseManifest: relative, no "..", so dest stays inside tmp.
    fs::path dest = fs::path(tmp) / e.path;
    fs::create_directories(dest.parent_path(), ec);
    if (ec) return fail(InternalError("cannot create '{}': {}", dest.parent_path().string(), ec.message()));
    Status s = LinkOrCopy(blobs_->BlobPath(e.sha256), dest.string());
    if (!s.ok()) return fail(s);
  }
  const std::string dest = TreePath(sha);
  fs::rename(tmp, dest, ec);
  if (ec) return fail(InternalError("cannot rename '{}' to '{}': {}", tmp, dest, ec.message()));
  return dest;
}

Status LocalCache::VerifyTree(const std::string& sha, const TreeManifest& manifest) const {
  const std::string root = TreePath(sha);
  auto files = ListTreeFiles(root);
  if (!files.ok()) return DataLossError("cached tree {}: {}", sha, files.status().message());
  if (files->size() != manifest.files.size()) {
    return DataLossError("cached tree {}: holds {} files, its manifest {}", sha, files->size(), manifest.files.size());
  }
  for (size_t i = 0; i < files->size(); ++i) {
    const TreeEntry& e = manifest.files[i];
    if ((*files)[i].rel != e.path) return DataLossError("cached tree {}: unexpected file '{}'", sha, (*files)[i].rel);
    int64_t size = 0;
    auto h = artifacts::Sha256File((*files)[i].abs, &size);
    if (!h.ok()) return DataLossError("cached tree {}: {}", sha, h.status().message());
    if (*h != e.sha256 || size != e.size) {
      return DataLossError("cached tree {}: '{}' hashes to {} ({} bytes), expected {} ({} bytes)", sha, e.path, *h, size,
                           e.sha256, e.size);
    }
  }
  return Status::OK();
}

void LocalCache::Adopt(const std::string& path, const std::string& sha) {
  if (!artifacts::IsSha256Hex(sha) || blobs_->Has(sha)) return;
  auto lock = Lock("blob:" + sha);
  const std::string dir = fmt::format("{}/blobs/{}", dir_, sha.substr(0, 2));
  const std::string tmp = fmt::format("{}/tmp/{}.{}.adopt", dir_, sha, UniqueSuffix());
  std::error_code ec;
  fs::create_directories(dir, ec);
  // No chmod: the link shares the output's inode, and a caller may still own that file. A
  // later in-place write to it is caught by verify_on_use like any other cache corruption.
  if (ec || ::link(path.c_str(), tmp.c_str()) != 0) return;  // e.g. another file system: skip
  if (::rename(tmp.c_str(), blobs_->BlobPath(sha).c_str()) != 0) ::unlink(tmp.c_str());
}

}  // namespace fc::transfer
