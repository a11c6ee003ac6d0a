#include "coordinator/artifacts/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <vector>

#include <spdlog/spdlog.h>

namespace fc::artifacts {
namespace {

namespace fs = std::filesystem;
constexpr size_t kIoBlock = 1 << 20;

std::string Errno() { return std::strerror(errno); }

Status WriteAll(int fd, const char* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return InternalError("cannot write '{}': {}", path, Errno());
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::OK();
}

// Reads [0, n) of fd into the hasher (pread: the fd's offset is left alone).
Status HashPrefix(int fd, int64_t n, Sha256Hasher* h, const std::string& path) {
  std::vector<char> buf(kIoBlock);
  int64_t pos = 0;
  while (pos < n) {
    size_t want = static_cast<size_t>(std::min<int64_t>(n - pos, static_cast<int64_t>(buf.size())));
    ssize_t r = ::pread(fd, buf.data(), want, pos);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return InternalError("cannot read '{}': {}", path, Errno());
    if (r == 0) return DataLossError("'{}' is shorter than {} bytes", path, n);
    h->Update(buf.data(), static_cast<size_t>(r));
    pos += r;
  }
  return Status::OK();
}

void FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::string UniqueTmpName() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng(std::random_device{}());
  return fmt::format("{}.{}.{:x}.tmp", getpid(), counter.fetch_add(1), rng());
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// BlobWriter

BlobWriter::~BlobWriter() {
  if (fd_ >= 0) ::close(fd_);
  store_->Release(sha_);
}

Status BlobWriter::Append(const void* data, size_t n) {
  if (committed_) return FailedPreconditionError("blob {}: append after commit", sha_);
  if (written_ + static_cast<int64_t>(n) > total_) {
    return InvalidArgumentError("blob {}: data runs past total_size {} (at {} + {})", sha_, total_, written_, n);
  }
  FC_RETURN_IF_ERROR(WriteAll(fd_, static_cast<const char*>(data), n, store_->PartialPath(sha_)));
  hasher_.Update(data, n);
  written_ += static_cast<int64_t>(n);
  return Status::OK();
}

Status BlobWriter::Commit() {
  if (committed_) return Status::OK();
  const std::string part = store_->PartialPath(sha_);
  if (written_ != total_) {
    return FailedPreconditionError("blob {}: upload incomplete, {} of {} bytes (kept for resume)", sha_, written_,
                                   total_);
  }
  std::string got = hasher_.FinishHex();
  if (got != sha_) {
    ::close(fd_);
    fd_ = -1;
    ::unlink(part.c_str());
    return DataLossError("blob {}: content hashes to {} ({} bytes); upload dropped", sha_, got, total_);
  }
  Status s = store_->Install(fd_, part, sha_);
  ::close(fd_);
  fd_ = -1;
  if (s.ok()) committed_ = true;
  return s;
}

// ---------------------------------------------------------------------------------------------
// BlobReader

BlobReader::~BlobReader() {
  if (fd_ >= 0) ::close(fd_);
}

Status BlobReader::Fail(const std::string& why) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  store_->Quarantine(sha_, why);
  return DataLossError("blob {}: {}", sha_, why);
}

Status BlobReader::Next(size_t max, std::string* out) {
  out->clear();
  if (fd_ < 0) return FailedPreconditionError("blob {}: reader closed", sha_);
  if (done()) return Status::OK();
  size_t want = static_cast<size_t>(std::min<int64_t>(size_ - pos_, static_cast<int64_t>(max)));
  out->resize(want);
  size_t got = 0;
  while (got < want) {
    ssize_t r = ::pread(fd_, out->data() + got, want - got, pos_ + static_cast<int64_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return InternalError("blob {}: cannot read: {}", sha_, Errno());
    if (r == 0) {
      out->clear();
      return Fail(fmt::format("file shrank to {} bytes while being read (expected {})", pos_ + got, size_));
    }
    got += static_cast<size_t>(r);
  }
  hasher_.Update(out->data(), out->size());
  pos_ += static_cast<int64_t>(want);
  if (done()) {
    std::string h = hasher_.FinishHex();
    if (h != sha_) {
      out->clear();
      return Fail(fmt::format("stored content hashes to {}", h));
    }
  }
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------
// BlobStore

StatusOr<std::unique_ptr<BlobStore>> BlobStore::Open(const std::string& root, BlobStoreOptions options) {
  if (root.empty()) return InvalidArgumentError("artifact store: directory must not be empty");
  std::error_code ec;
  for (const char* sub : {"blobs", "tmp", "corrupt"}) {
    fs::create_directories(fs::path(root) / sub, ec);
    if (ec) return UnavailableError("artifact store '{}': cannot create {}/: {}", root, sub, ec.message());
  }
  std::unique_ptr<BlobStore> store(new BlobStore(root, options));
  // Sweep abandoned scratch files and partial uploads nobody resumed.
  auto cutoff = fs::file_time_type::clock::now() - std::chrono::seconds(options.stale_tmp_seconds);
  for (fs::directory_iterator it(fs::path(root) / "tmp", ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code e2;
    auto t = fs::last_write_time(it->path(), e2);
    if (!e2 && t < cutoff) fs::remove_all(it->path(), e2);
  }
  return store;
}

std::string BlobStore::BlobPath(const std::string& sha) const {
  return fmt::format("{}/blobs/{}/{}", root_, sha.substr(0, 2), sha);
}

std::string BlobStore::PartialPath(const std::string& sha) const { return fmt::format("{}/tmp/{}.part", root_, sha); }

StatusOr<BlobStat> BlobStore::Stat(const std::string& sha) const {
  FC_RETURN_IF_ERROR(CheckSha256Hex(sha, "sha256"));
  BlobStat st;
  struct stat sb;
  if (::stat(BlobPath(sha).c_str(), &sb) == 0) {
    st.exists = true;
    st.size = sb.st_size;
  }
  if (::stat(PartialPath(sha).c_str(), &sb) == 0) st.partial_bytes = sb.st_size;
  return st;
}

bool BlobStore::Has(const std::string& sha) const {
  struct stat sb;
  return IsSha256Hex(sha) && ::stat(BlobPath(sha).c_str(), &sb) == 0;
}

void BlobStore::Release(const std::string& sha) {
  std::lock_guard<std::mutex> l(mu_);
  uploading_.erase(sha);
}

StatusOr<std::unique_ptr<BlobWriter>> BlobStore::BeginUpload(const std::string& sha, int64_t total_size,
                                                             int64_t offset) {
  FC_RETURN_IF_ERROR(CheckSha256Hex(sha, "sha256"));
  if (total_size < 0) return InvalidArgumentError("blob {}: total_size must be >= 0, got {}", sha, total_size);
  if (total_size > options_.max_blob_bytes) {
    return ResourceExhaustedError("blob {}: total_size {} exceeds the store's limit of {} bytes", sha, total_size,
                                  options_.max_blob_bytes);
  }
  if (offset < 0 || offset > total_size) {
    return InvalidArgumentError("blob {}: offset must be in [0, total_size {}], got {}", sha, total_size, offset);
  }
  if (Has(sha)) return AlreadyExistsError("blob {} is already stored", sha);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!uploading_.insert(sha).second) return AbortedError("blob {}: another upload of it is in progress", sha);
  }
  // From here the writer owns the claim and releases it when destroyed.
  std::unique_ptr<BlobWriter> w(new BlobWriter(this, sha, total_size));
  const std::string part = PartialPath(sha);
  w->fd_ = ::open(part.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (w->fd_ < 0) return InternalError("cannot open '{}': {}", part, Errno());
  struct stat sb;
  if (::fstat(w->fd_, &sb) != 0) return InternalError("cannot stat '{}': {}", part, Errno());
  if (offset > sb.st_size) {
    return FailedPreconditionError("blob {}: resume offset {} is past the {} bytes kept for it", sha, offset,
                                   static_cast<int64_t>(sb.st_size));
  }
  if (::ftruncate(w->fd_, offset) != 0) return InternalError("cannot truncate '{}': {}", part, Errno());
  FC_RETURN_IF_ERROR(HashPrefix(w->fd_, offset, &w->hasher_, part));
  if (::lseek(w->fd_, offset, SEEK_SET) < 0) return InternalError("cannot seek '{}': {}", part, Errno());
  w->written_ = offset;
  return w;
}

StatusOr<std::unique_ptr<BlobReader>> BlobStore::OpenReader(const std::string& sha, int64_t offset) const {
  FC_RETURN_IF_ERROR(CheckSha256Hex(sha, "sha256"));
  std::unique_ptr<BlobReader> r(new BlobReader(const_cast<BlobStore*>(this), sha));
  const std::string path = BlobPath(sha);
  r->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (r->fd_ < 0) {
    if (errno == ENOENT) return NotFoundError("blob {} is not in the artifact store", sha);
    return InternalError("cannot open '{}': {}", path, Errno());
  }
  struct stat sb;
  if (::fstat(r->fd_, &sb) != 0) return InternalError("cannot stat '{}': {}", path, Errno());
  r->size_ = sb.st_size;
  if (offset < 0 || offset > r->size_) {
    return OutOfRangeError("blob {}: offset {} is outside [0, {}]", sha, offset, r->size_);
  }
  Status s = HashPrefix(r->fd_, offset, &r->hasher_, path);
  if (s.code() == StatusCode::kDataLoss) return r->Fail(s.message());
  FC_RETURN_IF_ERROR(s);
  r->pos_ = offset;
  if (r->done()) {  // nothing left to send: the check happens now
    std::string h = r->hasher_.FinishHex();
    if (h != sha) return r->Fail(fmt::format("stored content hashes to {}", h));
  }
  return r;
}

Status BlobStore::Install(int fd, const std::string& tmp, const std::string& sha) const {
  if (::fsync(fd) != 0) return InternalError("cannot fsync '{}': {}", tmp, Errno());
  ::fchmod(fd, 0444);  // blobs are immutable; hard links into job inputs must not be written
  const std::string dir = fmt::format("{}/blobs/{}", root_, sha.substr(0, 2));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return InternalError("cannot create '{}': {}", dir, ec.message());
  const std::string dest = BlobPath(sha);
  if (::rename(tmp.c_str(), dest.c_str()) != 0) return InternalError("cannot rename '{}' to '{}': {}", tmp, dest, Errno());
  FsyncDir(dir);
  return Status::OK();
}

StatusOr<BlobInfo> BlobStore::PutFile(const std::string& path, const std::string& expected_sha) {
  if (!expected_sha.empty()) {
    FC_RETURN_IF_ERROR(CheckSha256Hex(expected_sha, "expected sha256"));
    if (Has(expected_sha)) {
      struct stat sb;
      if (::stat(BlobPath(expected_sha).c_str(), &sb) == 0) return BlobInfo{expected_sha, sb.st_size};
    }
  }
  int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    if (errno == ENOENT) return NotFoundError("file '{}' does not exist", path);
    return InternalError("cannot open '{}': {}", path, Errno());
  }
  const std::string tmp = fmt::format("{}/tmp/{}", root_, UniqueTmpName());
  int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    ::close(in);
    return InternalError("cannot create '{}': {}", tmp, Errno());
  }
  auto cleanup = [&] {
    ::close(in);
    if (out >= 0) ::close(out);
    ::unlink(tmp.c_str());
  };
  Sha256Hasher h;
  std::vector<char> buf(kIoBlock);
  int64_t size = 0;
  while (true) {
    ssize_t r = ::read(in, buf.data(), buf.size());
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      Status s = InternalError("cannot read '{}': {}", path, Errno());
      cleanup();
      return s;
    }
    if (r == 0) break;
    Status s = WriteAll(out, buf.data(), static_cast<size_t>(r), tmp);
    if (!s.ok()) {
      cleanup();
      return s;
    }
    h.Update(buf.data(), static_cast<size_t>(r));
    size += r;
    if (size > options_.max_blob_bytes) {
      cleanup();
      return ResourceExhaustedError("file '{}' exceeds the store's limit of {} bytes", path, options_.max_blob_bytes);
    }
  }
  std::string sha = h.FinishHex();
  if (!expected_sha.empty() && sha != expected_sha) {
    cleanup();
    return DataLossError("file '{}' hashes to {}, expected {}", path, sha, expected_sha);
  }
  if (Has(sha)) {
    cleanup();
    return BlobInfo{sha, size};
  }
  Status s = Install(out, tmp, sha);
  ::close(out);
  out = -1;
  ::close(in);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return BlobInfo{sha, size};
}

Status BlobStore::Verify(const std::string& sha) {
  FC_ASSIGN_OR_RETURN(auto reader, OpenReader(sha, 0));
  std::string buf;
  while (!reader->done()) FC_RETURN_IF_ERROR(reader->Next(kIoBlock, &buf));
  return Status::OK();
}

void BlobStore::Quarantine(const std::string& sha, const std::string& why) const {
  if (!IsSha256Hex(sha)) return;
  const std::string path = BlobPath(sha);
  if (options_.quarantine_corrupt) {
    const std::string dest = fmt::format("{}/corrupt/{}.{}", root_, sha, NowMs());
    spdlog::error("artifact store: blob {} is corrupt ({}); moved to {}", sha, why, dest);
    if (::rename(path.c_str(), dest.c_str()) == 0) return;
  } else {
    spdlog::warn("artifact cache: blob {} is corrupt ({}); deleted", sha, why);
  }
  ::unlink(path.c_str());
}

Status BlobStore::Remove(const std::string& sha) {
  FC_RETURN_IF_ERROR(CheckSha256Hex(sha, "sha256"));
  if (::unlink(BlobPath(sha).c_str()) != 0 && errno != ENOENT) {
    return InternalError("cannot delete '{}': {}", BlobPath(sha), Errno());
  }
  return Status::OK();
}

}  // namespace fc::artifacts
