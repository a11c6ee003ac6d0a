#include "worker/transfer/job_artifacts.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include <spdlog/spdlog.h>

#include "worker/transfer/artifact_uri.h"

namespace fc::transfer {
namespace fs = std::filesystem;

namespace {

// The output's absolute path when it lies inside output_dir (or is output_dir), else empty.
std::string PathInside(const std::string& uri, const std::string& output_dir) {
  if (uri.empty() || IsBlobUri(uri) || uri.find("://") != std::string::npos) return "";
  std::error_code ec;
  fs::path p(uri);
  if (p.is_relative()) p = fs::path(output_dir) / p;
  fs::path canon = fs::weakly_canonical(p, ec);
  if (ec) return "";
  fs::path root = fs::weakly_canonical(output_dir, ec);
  if (ec) return "";
  auto [r, c] = std::mismatch(root.begin(), root.end(), canon.begin(), canon.end());
  if (r != root.end()) return "";
  return canon.string();
}

}  // namespace

Status MaterializeInputs(ArtifactClient& client, std::map<std::string, agent::DependencyOutput>* inputs,
                         const CancelFn& cancelled) {
  for (auto& [dep, out] : *inputs) {
    for (agent::ArtifactRef& a : out.outputs) {
      if (!IsBlobUri(a.uri)) continue;
      auto path = client.Materialize(a.uri, cancelled);
      if (!path.ok()) {
        return path.status().WithContext(fmt::format("input '{}' output '{}' ({})", dep, a.name, a.uri));
      }
      spdlog::info("input {}.{} {} -> {}", dep, a.name, a.uri, *path);
      a.uri = *path;
    }
  }
  return Status::OK();
}

StatusOr<std::vector<agent::ArtifactRef>> UploadOutputs(ArtifactClient& client,
                                                        const std::vector<agent::ArtifactRef>& outputs,
                                                        const std::string& output_dir, const CancelFn& cancelled) {
  std::vector<agent::ArtifactRef> out = outputs;
  std::map<std::string, UploadResult> done;  // outputs often alias ("last" = "checkpoint-N")
  for (agent::ArtifactRef& a : out) {
    std::string path = PathInside(a.uri, output_dir);
    if (path.empty()) continue;
    auto it = done.find(path);
    StatusOr<UploadResult> up = it != done.end()
                                    ? StatusOr<UploadResult>(it->second)
                                    : client.Upload(path, a.kind.empty() ? "file" : a.kind, cancelled);
    if (up.status().code() == StatusCode::kUnimplemented) {
      spdlog::warn("coordinator has no artifact service; reporting outputs as local paths");
      return outputs;
    }
    if (!up.ok()) return up.status().WithContext(fmt::format("output '{}' ({})", a.name, path));
    done.emplace(path, *up);
    a.sha256 = up->sha256;
    a.size = up->size;
    a.uri = up->is_tree ? FormatBlobUri(up->sha256) : FormatBlobUri(up->sha256, fs::path(path).filename().string());
    spdlog::info("output {} {} -> {} ({} bytes, {} file(s), {} sent)", a.name, path, a.uri, up->size, up->files,
                 up->bytes_sent);
  }
  return out;
}

}  // namespace fc::transfer
