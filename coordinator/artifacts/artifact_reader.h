// Reading a job's output on the coordinator, whatever form its uri has:
//   /plain/path            a file or folder on the coordinator's disk (same host, shared FS)
//   blob:<sha256>/<name>   one file in the coordinator's artifact store (--artifacts DIR)
//   blob:<sha256>          a directory stored as a tree: the manifest blob lists one blob per
//                          file (docs/artifacts.md "Trees", worker/transfer/tree_manifest.h)
// ReadOutputFile returns the bytes of the file the uri names or, for a folder or tree, of the
// first of `members` (relative paths such as "circuit.json", "circuit/circuit.json") it holds.
//
// Every blob (manifest and member) is re-hashed while it is read (BlobStore's BlobReader): a
// blob whose bytes do not match its name is DATA_LOSS naming the blob (the store quarantines
// it) and its bytes are never returned, so nothing corrupt is parsed. A member whose size is
// not the manifest's is DATA_LOSS too.
//
// Blocking file I/O: call it from a thread that may block (the ingester's own thread, the HTTP
// thread, a store reader), never from a gRPC callback or the scheduler's io thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "coordinator/artifacts/blob_store.h"

namespace fc::artifacts {

inline constexpr int64_t kDefaultMaxOutputBytes = int64_t{512} << 20;

struct OutputFile {
  std::string bytes;
  // Where the bytes came from, for error messages of whoever parses them:
  // "/p/circuit.json" or "blob:<tree>/circuit.json (blob <member sha>)".
  std::string source;
};

// `blobs` may be null (a coordinator without --artifacts): blob uris are then
// FAILED_PRECONDITION. NOT_FOUND when the path / blob / member does not exist (the message
// names the uri and the members tried); INVALID_ARGUMENT for a malformed blob uri or manifest;
// RESOURCE_EXHAUSTED when the file is larger than max_bytes; DATA_LOSS as above.
StatusOr<OutputFile> ReadOutputFile(const BlobStore* blobs, const std::string& uri,
                                    const std::vector<std::string>& members,
                                    int64_t max_bytes = kDefaultMaxOutputBytes);

// A whole stored blob, verified. NOT_FOUND, DATA_LOSS, RESOURCE_EXHAUSTED above max_bytes.
StatusOr<std::string> ReadBlob(const BlobStore& blobs, const std::string& sha, int64_t max_bytes);

}  // namespace fc::artifacts
