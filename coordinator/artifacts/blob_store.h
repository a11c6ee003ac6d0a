// BlobStore: content-addressed blobs in one directory tree, the artifact store's truth.
//
//   <root>/blobs/<ab>/<sha256>   finished, verified blobs (ab = first two hex digits), mode 0444
//   <root>/tmp/<sha256>.part     an unfinished resumable upload (BeginUpload)
//   <root>/tmp/*.tmp             PutFile/AdoptFile scratch files, unique names (safe on NFS)
//   <root>/corrupt/<sha256>.<unix_ms>  blobs that failed a re-hash (kept for inspection)
//
// A blob only ever appears under blobs/ by fsync + rename after its SHA-256 was checked, so a
// reader sees a whole blob or none. Readers re-hash while they read and fail with DATA_LOSS
// before handing out the last bytes of a blob whose content no longer matches its name (bit rot,
// a byte flipped by hand); such a blob is moved to corrupt/ (or deleted, see Options) so it is
// never served again and a fresh upload can replace it.
//
// The same layout serves three users: the coordinator (--artifacts DIR), a worker's shared-FS
// mode (--shared-artifacts DIR, e.g. an NFS mount of that directory) and the worker's local
// cache. Thread-safe. Blocking file I/O: call it from I/O threads, never from a gRPC callback.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common/status.h"
#include "coordinator/artifacts/sha256_hasher.h"

namespace fc::artifacts {

struct BlobStoreOptions {
  int64_t max_blob_bytes = int64_t{1} << 40;   // 1 TiB; larger uploads get RESOURCE_EXHAUSTED
  bool quarantine_corrupt = true;              // false: delete corrupt blobs instead (caches)
  int64_t stale_tmp_seconds = 7 * 24 * 3600;   // Open() removes tmp files older than this
};

struct BlobStat {
  bool exists = false;
  int64_t size = 0;           // when exists
  int64_t partial_bytes = 0;  // of a resumable upload in tmp/
};

struct BlobInfo {
  std::string sha256;
  int64_t size = 0;
};

class BlobStore;

// One resumable upload of one blob; at most one per sha per store at a time. Destroying it
// without Commit keeps the partial file for a later resume.
class BlobWriter {
 public:
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  // INVALID_ARGUMENT when the data would pass total_size; INTERNAL for write errors.
  Status Append(const void* data, size_t n);
  int64_t written() const { return written_; }  // bytes in the partial, resumed prefix included
  int64_t total_size() const { return total_; }
  // FAILED_PRECONDITION when written() < total_size (the partial stays); DATA_LOSS when the
  // content's hash is not the announced sha (the partial is deleted); else fsync + rename.
  Status Commit();

 private:
  friend class BlobStore;
  BlobWriter(BlobStore* store, std::string sha, int64_t total) : store_(store), sha_(std::move(sha)), total_(total) {}
  BlobStore* store_;
  std::string sha_;
  int64_t total_;
  int64_t written_ = 0;
  int fd_ = -1;
  bool committed_ = false;
  Sha256Hasher hasher_;
};

// Sequential reader of one stored blob that re-hashes everything (from byte 0, also when it
// starts at an offset) and checks the hash before returning the final bytes.
class BlobReader {
 public:
  ~BlobReader();
  BlobReader(const BlobReader&) = delete;
  BlobReader& operator=(const BlobReader&) = delete;

  int64_t size() const { return size_; }
  int64_t position() const { return pos_; }
  bool done() const { return pos_ >= size_; }
  // Appends up to max bytes to *out (cleared first). DATA_LOSS (and the blob is quarantined)
  // when the bytes read so far complete the blob and do not hash to its name, or the file
  // shrank while being read.
  Status Next(size_t max, std::string* out);

 private:
  friend class BlobStore;
  BlobReader(BlobStore* store, std::string sha) : store_(store), sha_(std::move(sha)) {}
  Status Fail(const std::string& why);
  BlobStore* store_;
  std::string sha_;
  int fd_ = -1;
  int64_t size_ = 0;
  int64_t pos_ = 0;
  Sha256Hasher hasher_;
};

class BlobStore {
 public:
  // Creates root/{blobs,tmp,corrupt} as needed and sweeps stale tmp files.
  static StatusOr<std::unique_ptr<BlobStore>> Open(const std::string& root, BlobStoreOptions options = {});

  const std::string& root() const { return root_; }
  const BlobStoreOptions& options() const { return options_; }
  std::string BlobPath(const std::string& sha) const;
  std::string PartialPath(const std::string& sha) const;

  // INVALID_ARGUMENT for a malformed sha.
  StatusOr<BlobStat> Stat(const std::string& sha) const;
  bool Has(const std::string& sha) const;

  // Starts or resumes an upload. offset must be <= the partial's length (FAILED_PRECONDITION
  // otherwise); the partial is cut to offset and its prefix re-hashed. ALREADY_EXISTS when the
  // blob is stored, ABORTED when another upload of it is in progress, RESOURCE_EXHAUSTED above
  // max_blob_bytes, INVALID_ARGUMENT for a bad sha/size/offset.
  StatusOr<std::unique_ptr<BlobWriter>> BeginUpload(const std::string& sha, int64_t total_size, int64_t offset);

  // NOT_FOUND when absent; OUT_OF_RANGE when offset > size.
  StatusOr<std::unique_ptr<BlobReader>> OpenReader(const std::string& sha, int64_t offset) const;

  // Copies a local file in (hashing while copying); DATA_LOSS when expected_sha is given and
  // does not match. Deduplicates: an already stored blob is left as it is.
  StatusOr<BlobInfo> PutFile(const std::string& path, const std::string& expected_sha = "");

  // Re-hashes a stored blob: OK, NOT_FOUND, or DATA_LOSS (and the blob is quarantined).
  Status Verify(const std::string& sha);
  // Moves the blob to corrupt/ (or deletes it when quarantine_corrupt is false).
  void Quarantine(const std::string& sha, const std::string& why) const;
  // Deletes a stored blob (caches). OK when it was absent.
  Status Remove(const std::string& sha);

 private:
  friend class BlobWriter;
  BlobStore(std::string root, BlobStoreOptions options) : root_(std::move(root)), options_(options) {}
  // fsyncs fd, renames tmp into place as sha's blob (0444) and fsyncs the directory.
  Status Install(int fd, const std::string& tmp, const std::string& sha) const;
  void Release(const std::string& sha);

  const std::string root_;
  const BlobStoreOptions options_;
  std::mutex mu_;
  std::set<std::string> uploading_;  // shas with a live BlobWriter
};

}  // namespace fc::artifacts
