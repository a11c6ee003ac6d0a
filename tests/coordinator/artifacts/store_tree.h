// Test helper: stores a local folder in a BlobStore the way a worker uploads a directory
// output (one blob per regular file plus the canonical manifest, worker/transfer/
// tree_manifest.h) and returns the output's uri "blob:<manifest sha>".
#pragma once

#include <cstdio>
#include <fstream>
#include <string>

#include "common/status.h"
#include "coordinator/artifacts/blob_store.h"
#include "worker/transfer/artifact_uri.h"
#include "worker/transfer/tree_manifest.h"

namespace fc::artifacts::testing {

struct StoredTree {
  std::string uri;           // blob:<manifest sha>
  std::string manifest_sha;
  transfer::TreeManifest manifest;
};

inline StatusOr<StoredTree> StoreTree(BlobStore& store, const std::string& dir) {
  FC_ASSIGN_OR_RETURN(std::vector<transfer::TreeFile> files, transfer::ListTreeFiles(dir));
  StoredTree out;
  for (const transfer::TreeFile& f : files) {
    FC_ASSIGN_OR_RETURN(BlobInfo b, store.PutFile(f.abs));
    out.manifest.files.push_back({f.rel, b.sha256, b.size});
  }
  const std::string manifest_path = dir + ".manifest.json";
  {
    std::ofstream m(manifest_path, std::ios::binary | std::ios::trunc);
    m << transfer::SerializeManifest(out.manifest);
    if (!m.good()) return InternalError("cannot write '{}'", manifest_path);
  }
  auto b = store.PutFile(manifest_path);
  std::remove(manifest_path.c_str());
  if (!b.ok()) return b.status();
  out.manifest_sha = b->sha256;
  out.uri = transfer::FormatBlobUri(b->sha256);
  return out;
}

}  // namespace fc::artifacts::testing
