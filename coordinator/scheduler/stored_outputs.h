// StoredOutputs: whether the `blob:` outputs of a finished job are all still in the
// coordinator's artifact store, so that a cache hit never hands out an output whose blob was
// quarantined (moved to corrupt/ after a failed re-hash) or removed. For `blob:<sha>/<name>` the
// blob must exist; for a tree `blob:<sha>` its manifest blob AND every member blob the manifest
// lists. Plain paths are not checked (they live on a worker's or a shared disk, not here).
//
// Threading and I/O: called by the scheduler on its io thread (a cache lookup happens while a
// job becomes READY, inside one scheduler transition, so it cannot wait for another thread).
// The cost is kept to one stat(2) per blob: a tree's member list is read (verified, bounded by
// transfer::kMaxManifestBytes) the first time that tree is checked and then remembered by its
// manifest sha: a content address never changes, so the remembered list stays true; a later
// check of the same tree only stats. A manifest that cannot be read (missing, corrupt, not a
// manifest) makes the outputs count as missing and is not remembered. Cache lookups only happen
// for jobs whose cache key matches an earlier job's (resubmissions), so this is rare.
// Not thread-safe (one scheduler thread).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "coordinator/artifacts/blob_store.h"
#include "coordinator/core/types.h"

namespace fc::coord {

class StoredOutputs {
 public:
  // blobs may be null (a coordinator without --artifacts): then every output counts as present.
  explicit StoredOutputs(const artifacts::BlobStore* blobs) : blobs_(blobs) {}

  // Empty when every blob output is present; else why not, naming the output and the blob
  // ("output 'model' (blob:ab..): member 'w.bin' blob 12.. is not in the artifact store").
  std::string Missing(const std::vector<Artifact>& outputs);

 private:
  std::string MissingTree(const std::string& output, const std::string& uri, const std::string& sha);

  const artifacts::BlobStore* blobs_;
  // manifest sha -> (member path, member sha) of trees already read.
  std::unordered_map<std::string, std::vector<std::pair<std::string, std::string>>> members_;
};

}  // namespace fc::coord
