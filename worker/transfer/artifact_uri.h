// Artifact URIs as reported to the coordinator for stored outputs:
//   blob:<sha256>          a directory (tree): sha256 is its manifest's address
//   blob:<sha256>/<name>   a single file; name (no '/') is the file name it is materialised
//                          under, so readers that go by extension (.jsonl, .csv) still work
// Anything else (a plain path) is left alone by the transfer layer.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace fc::transfer {

struct BlobUri {
  std::string sha256;
  std::string file_name;  // empty for a tree
  bool is_tree() const { return file_name.empty(); }
};

std::string FormatBlobUri(const std::string& sha256, const std::string& file_name = "");
bool IsBlobUri(std::string_view uri);
// INVALID_ARGUMENT naming the uri for a bad sha or file name.
StatusOr<BlobUri> ParseBlobUri(std::string_view uri);

}  // namespace fc::transfer
