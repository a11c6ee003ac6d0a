// LocalCache: a worker's verified copy of artifacts, under <work_dir>/cache, reused across jobs.
//
//   blobs/<ab>/<sha>        verified blobs (a BlobStore: same layout as the coordinator's store)
//   tmp/<sha>.part          a resumable download (BlobWriter of the cache's BlobStore)
//   files/<sha>/<name>      a single-file artifact as a job sees it (hard link to its blob)
//   trees/<sha>/...         a directory artifact as a job sees it (hard links to the blobs)
//
// Everything appears by rename, after verification, so a crash leaves either nothing or a whole
// entry. Blobs are mode 0444; a job that writes an input anyway (e.g. as root) corrupts the
// cache entry, which the next use detects (verify_on_use re-hashes) and replaces. Thread-safe
// within one process; one process per cache directory.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "coordinator/artifacts/blob_store.h"
#include "worker/transfer/tree_manifest.h"

namespace fc::transfer {

class LocalCache {
 public:
  static StatusOr<std::unique_ptr<LocalCache>> Open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  artifacts::BlobStore& blobs() { return *blobs_; }
  std::string FilePath(const std::string& sha, const std::string& name) const;
  std::string TreePath(const std::string& sha) const;

  // Serialises work on one key ("blob:<sha>", "tree:<sha>", ...) among this process's threads.
  std::unique_lock<std::mutex> Lock(const std::string& key);

  // Hard-links (or copies, where links are impossible) a stored blob to files/<sha>/<name>.
  StatusOr<std::string> PlaceFile(const std::string& sha, const std::string& name);
  // Builds trees/<sha> from stored blobs (all must be present) in a temp dir, then renames it.
  StatusOr<std::string> PlaceTree(const std::string& sha, const TreeManifest& manifest);
  // OK when trees/<sha> holds exactly the manifest's files with their hashes; DATA_LOSS naming
  // the first difference otherwise.
  Status VerifyTree(const std::string& sha, const TreeManifest& manifest) const;
  // Adds an uploaded output to blobs/ by hard link (no copy, mode unchanged), so a later job on
  // this worker needs no download. Best effort: a failure only costs that download.
  void Adopt(const std::string& path, const std::string& sha);

 private:
  explicit LocalCache(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
  std::unique_ptr<artifacts::BlobStore> blobs_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<std::mutex>> locks_;
};

// Hard link from -> to, falling back to a copy; replaces nothing (to must not exist).
Status LinkOrCopy(const std::string& from, const std::string& to);

}  // namespace fc::transfer
