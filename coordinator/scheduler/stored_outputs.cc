#include "coordinator/scheduler/stored_outputs.h"

#include <fmt/format.h>

#include "coordinator/artifacts/artifact_reader.h"
#include "worker/transfer/artifact_uri.h"
#include "worker/transfer/tree_manifest.h"

namespace fc::coord {

std::string StoredOutputs::Missing(const std::vector<Artifact>& outputs) {
  if (blobs_ == nullptr) return "";
  for (const Artifact& a : outputs) {
    if (!transfer::IsBlobUri(a.uri)) continue;
    auto b = transfer::ParseBlobUri(a.uri);
    if (!b.ok()) return fmt::format("output '{}': {}", a.name, b.status().message());
    if (b->is_tree()) {
      std::string why = MissingTree(a.name, a.uri, b->sha256);
      if (!why.empty()) return why;
    } else if (!blobs_->Has(b->sha256)) {
      return fmt::format("output '{}' ({}): blob {} is not in the artifact store", a.name, a.uri, b->sha256);
    }
  }
  return "";
}

std::string StoredOutputs::MissingTree(const std::string& output, const std::string& uri, const std::string& sha) {
  if (!blobs_->Has(sha)) {
    return fmt::format("output '{}' ({}): manifest blob {} is not in the artifact store", output, uri, sha);
  }
  auto it = members_.find(sha);
  if (it == members_.end()) {
    auto text = artifacts::ReadBlob(*blobs_, sha, transfer::kMaxManifestBytes);
    if (!text.ok()) return fmt::format("output '{}' ({}): manifest: {}", output, uri, text.status().message());
    auto m = transfer::ParseManifest(*text, uri);
    if (!m.ok()) return fmt::format("output '{}': {}", output, m.status().message());
    std::vector<std::pair<std::string, std::string>> members;
    members.reserve(m->files.size());
    for (const transfer::TreeEntry& e : m->files) members.emplace_back(e.path, e.sha256);
    it = members_.emplace(sha, std::move(members)).first;
  }
  for (const auto& [path, member] : it->second) {
    if (!blobs_->Has(member)) {
      return fmt::format("output '{}' ({}): member '{}' blob {} is not in the artifact store", output, uri, path,
                         member);
    }
  }
  return "";
}

}  // namespace fc::coord
