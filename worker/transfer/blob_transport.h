// BlobTransport: how a worker moves blobs to and from the artifact store. Two implementations:
// GrpcBlobTransport (the coordinator's ArtifactService; workers on any host) and
// SharedFsBlobTransport (a directory with the store's layout, e.g. an NFS mount of the
// coordinator's --artifacts dir). ArtifactClient adds retries, resume and the local cache.
// Implementations are thread-safe; every call blocks its caller (a job thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "coordinator/artifacts/blob_store.h"

namespace fc::transfer {

// Polled between chunks; true stops the transfer with CANCELLED.
using CancelFn = std::function<bool()>;
// Receives a blob's bytes in order.
using BlobSink = std::function<Status(const char* data, size_t n)>;

struct PutResult {
  bool already_present = false;  // the store had it: nothing was sent
  int64_t bytes_sent = 0;
};

class BlobTransport {
 public:
  virtual ~BlobTransport() = default;
  virtual std::string Describe() const = 0;

  virtual StatusOr<artifacts::BlobStat> Stat(const std::string& sha) = 0;
  // Uploads local file `path` (whose sha256 and size the caller computed) starting at offset:
  // the store already holds [0, offset) as a partial upload. A store that cannot resume ignores
  // offset and reads the whole file.
  virtual StatusOr<PutResult> Put(const std::string& path, const std::string& sha, int64_t size, int64_t offset,
                                  const std::string& kind, const CancelFn& cancelled) = 0;
  // Streams [offset, size) of the blob to sink; returns the bytes delivered. size is the blob's
  // size from Stat (used to scale the deadline). Store-side DATA_LOSS is passed through.
  virtual StatusOr<int64_t> Get(const std::string& sha, int64_t offset, int64_t size, const BlobSink& sink,
                                const CancelFn& cancelled) = 0;
};

}  // namespace fc::transfer
