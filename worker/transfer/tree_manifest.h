// Tree manifests: how a directory artifact (model folder, checkpoint, dataset folder) is stored.
// Every regular file is its own blob; the manifest blob lists them and its sha256 is the
// artifact's address:
//   {"files":[{"path":"config.json","sha256":"<hex>","size":812},...],"type":"tree"}
// Paths are relative, '/'-separated, sorted bytewise and unique; no absolute paths, no empty,
// "." or ".." components, no backslashes or NUL, and no file is also a parent of another. The
// JSON is canonical (sorted keys, no spaces) so the same tree always has the same address, and
// identical files are stored once (a checkpoint adds only what changed, e.g. its adapter).
// Empty directories, permissions and timestamps are not recorded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace fc::transfer {

inline constexpr int64_t kMaxManifestBytes = int64_t{64} << 20;
inline constexpr size_t kMaxTreeFiles = 1000000;

struct TreeEntry {
  std::string path;
  std::string sha256;
  int64_t size = 0;
};

struct TreeManifest {
  std::vector<TreeEntry> files;  // sorted by path
  int64_t TotalSize() const;
};

// INVALID_ARGUMENT naming `what` and the path unless it is a safe relative path (see above).
Status CheckRelativePath(std::string_view path, std::string_view what);

// Canonical JSON; sorts the entries. Never fails for entries that passed ParseManifest's rules.
std::string SerializeManifest(TreeManifest manifest);

// Parses and validates; errors are INVALID_ARGUMENT naming `source` and the entry index.
StatusOr<TreeManifest> ParseManifest(std::string_view json, std::string_view source);

// A regular file found under a directory: its manifest path and where it is now.
struct TreeFile {
  std::string rel;
  std::string abs;
};
// All regular files under dir (symlinks to regular files count as files), sorted by rel.
// INVALID_ARGUMENT naming the path for anything else (sockets, symlinks to directories, broken
// links); NOT_FOUND when dir does not exist.
StatusOr<std::vector<TreeFile>> ListTreeFiles(const std::string& dir);

}  // namespace fc::transfer
