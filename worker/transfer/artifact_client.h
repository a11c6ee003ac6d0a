// ArtifactClient: a worker's uploads to and downloads from the artifact store, through a
// LocalCache. Thread-safe: several job threads may use one client; work on the same blob or
// tree is serialised by the cache.
//
//   Upload(path): a file becomes one blob; a directory one blob per file plus a manifest blob
//     (tree_manifest.h) whose sha is the result. Blobs the store already has are not sent
//     (StatBlob first), so re-uploading a checkpoint folder sends only what changed. An upload
//     interrupted part-way resumes from the bytes the store kept (StatBlob partial_bytes).
//   Materialize*(sha): makes the artifact a local path in the cache, downloading missing blobs;
//     an interrupted download resumes from the cache's partial file; every download is hashed
//     before it enters the cache, and (verify_on_use) cached entries are re-hashed on each use,
//     a corrupt entry being dropped and fetched again.
//   Errors: transient failures (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, DATA_LOSS, ...) are
//     retried max_attempts times with backoff, then returned; DATA_LOSS means the store's copy
//     itself is bad. UNIMPLEMENTED from Upload: the coordinator serves no artifact store.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/status.h"
#include "worker/transfer/blob_transport.h"
#include "worker/transfer/grpc_blob_transport.h"
#include "worker/transfer/local_cache.h"

namespace fc::transfer {

struct ArtifactClientOptions {
  std::string cache_dir;             // required: <work_dir>/cache
  bool verify_on_use = true;         // re-hash cached entries each time they are materialised
  int max_attempts = 4;
  int retry_initial_ms = 200;
  int retry_max_ms = 5000;
  GrpcTransportOptions grpc;         // chunking and deadlines (gRPC transport only)
};

struct UploadResult {
  std::string sha256;     // of the file, or of the manifest for a directory
  int64_t size = 0;       // file size, or the sum of the tree's file sizes
  bool is_tree = false;
  int files = 1;
  int64_t bytes_sent = 0; // data actually transferred (0 when everything was deduplicated)
};

class ArtifactClient {
 public:
  // Over the coordinator's ArtifactService on `channel`.
  static StatusOr<std::unique_ptr<ArtifactClient>> ForChannel(std::shared_ptr<grpc::Channel> channel,
                                                              ArtifactClientOptions options);
  // Over a shared directory with the store's layout (--shared-artifacts DIR).
  static StatusOr<std::unique_ptr<ArtifactClient>> ForSharedDir(const std::string& dir, ArtifactClientOptions options);
  ArtifactClient(std::unique_ptr<BlobTransport> transport, std::unique_ptr<LocalCache> cache,
                 ArtifactClientOptions options);

  StatusOr<UploadResult> Upload(const std::string& path, const std::string& kind, const CancelFn& cancelled = {});
  // A single-file artifact at cache/files/<sha>/<name>.
  StatusOr<std::string> MaterializeFile(const std::string& sha, const std::string& name,
                                        const CancelFn& cancelled = {});
  // A tree artifact at cache/trees/<sha>/.
  StatusOr<std::string> MaterializeTree(const std::string& sha, const CancelFn& cancelled = {});
  // By uri (artifact_uri.h).
  StatusOr<std::string> Materialize(const std::string& uri, const CancelFn& cancelled = {});
  // Makes sure the cache holds the verified blob (downloading or resuming as needed).
  Status FetchBlob(const std::string& sha, const CancelFn& cancelled = {});

  LocalCache& cache() { return *cache_; }
  BlobTransport& transport() { return *transport_; }
  // Cumulative data bytes moved by this client (tests and logs).
  int64_t bytes_sent() const { return bytes_sent_.load(); }
  int64_t bytes_received() const { return bytes_received_.load(); }

 private:
  StatusOr<PutResult> PutWithRetry(const std::string& path, const std::string& sha, int64_t size,
                                   const std::string& kind, const CancelFn& cancelled);
  Status FetchOnce(const std::string& sha, const CancelFn& cancelled);
  // Sleeps the attempt's backoff; CANCELLED when cancelled meanwhile.
  Status Backoff(int attempt, const CancelFn& cancelled) const;

  std::unique_ptr<BlobTransport> transport_;
  std::unique_ptr<LocalCache> cache_;
  ArtifactClientOptions options_;
  std::atomic<int64_t> bytes_sent_{0};
  std::atomic<int64_t> bytes_received_{0};
};

}  // namespace fc::transfer
