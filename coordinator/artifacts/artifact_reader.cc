#include "coordinator/artifacts/artifact_reader.h"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "worker/transfer/artifact_uri.h"
#include "worker/transfer/tree_manifest.h"

namespace fc::artifacts {
namespace {

namespace fs = std::filesystem;

constexpr size_t kChunk = size_t{1} << 20;

std::string Joined(const std::vector<std::string>& members) {
  std::string out;
  for (const std::string& m : members) out += (out.empty() ? "" : ", ") + m;
  return out;
}

StatusOr<OutputFile> ReadPlainFile(const std::string& path, int64_t max_bytes) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return NotFoundError("'{}' is not a readable file on the coordinator: {}", path, ec.message());
  if (static_cast<int64_t>(size) > max_bytes) {
    return ResourceExhaustedError("'{}' has {} bytes, more than the {} byte limit", path, size, max_bytes);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("'{}' is not a readable file on the coordinator", path);
  OutputFile out;
  out.bytes.resize(size);
  in.read(out.bytes.data(), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size)) {
    return DataLossError("'{}' is shorter than the {} bytes it had when opened", path, size);
  }
  out.source = path;
  return out;
}

StatusOr<OutputFile> ReadPlain(const std::string& path, const std::vector<std::string>& members, int64_t max_bytes) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    if (!fs::is_regular_file(path, ec)) {
      return NotFoundError("output '{}' is not a readable file or folder on the coordinator", path);
    }
    return ReadPlainFile(path, max_bytes);
  }
  for (const std::string& m : members) {
    const std::string p = path + "/" + m;
    if (fs::is_regular_file(p, ec)) return ReadPlainFile(p, max_bytes);
  }
  return NotFoundError("output folder '{}' holds none of {}", path, Joined(members));
}

StatusOr<OutputFile> ReadTree(const BlobStore& blobs, const std::string& uri, const std::string& sha,
                              const std::vector<std::string>& members, int64_t max_bytes) {
  auto text = ReadBlob(blobs, sha, transfer::kMaxManifestBytes);
  if (!text.ok()) return text.status().WithContext(fmt::format("output '{}': manifest", uri));
  FC_ASSIGN_OR_RETURN(transfer::TreeManifest m, transfer::ParseManifest(*text, uri));
  for (const std::string& want : members) {
    for (const transfer::TreeEntry& e : m.files) {
      if (e.path != want) continue;
      if (e.size > max_bytes) {
        return ResourceExhaustedError("output '{}': member '{}' has {} bytes, more than the {} byte limit", uri, e.path,
                                      e.size, max_bytes);
      }
      auto bytes = ReadBlob(blobs, e.sha256, max_bytes);
      if (!bytes.ok()) return bytes.status().WithContext(fmt::format("output '{}': member '{}'", uri, e.path));
      if (static_cast<int64_t>(bytes->size()) != e.size) {
        return DataLossError("output '{}': member '{}' (blob {}) has {} bytes, the manifest says {}", uri, e.path,
                             e.sha256, bytes->size(), e.size);
      }
      return OutputFile{std::move(*bytes), fmt::format("{}/{} (blob {})", uri, e.path, e.sha256)};
    }
  }
  return NotFoundError("output '{}': the tree holds none of {}", uri, Joined(members));
}

}  // namespace

StatusOr<std::string> ReadBlob(const BlobStore& blobs, const std::string& sha, int64_t max_bytes) {
  FC_ASSIGN_OR_RETURN(std::unique_ptr<BlobReader> r, blobs.OpenReader(sha, 0));
  if (r->size() > max_bytes) {
    return ResourceExhaustedError("blob {} has {} bytes, more than the {} byte limit", sha, r->size(), max_bytes);
  }
  std::string all, chunk;
  all.reserve(static_cast<size_t>(r->size()));
  // The reader checks the hash before it hands out the last chunk, so a corrupt blob ends in
  // DATA_LOSS here and `all` is dropped unparsed.
  while (!r->done()) {
    FC_RETURN_IF_ERROR(r->Next(kChunk, &chunk));
    all += chunk;
  }
  return all;
}

StatusOr<OutputFile> ReadOutputFile(const BlobStore* blobs, const std::string& uri,
                                    const std::vector<std::string>& members, int64_t max_bytes) {
  if (!transfer::IsBlobUri(uri)) return ReadPlain(uri, members, max_bytes);
  FC_ASSIGN_OR_RETURN(transfer::BlobUri b, transfer::ParseBlobUri(uri));
  if (blobs == nullptr) {
    return FailedPreconditionError("output '{}': the coordinator has no artifact store (start it with --artifacts DIR)",
                                   uri);
  }
  if (b.is_tree()) return ReadTree(*blobs, uri, b.sha256, members, max_bytes);
  auto bytes = ReadBlob(*blobs, b.sha256, max_bytes);
  if (!bytes.ok()) return bytes.status().WithContext(fmt::format("output '{}'", uri));
  return OutputFile{std::move(*bytes), uri};
}

}  // namespace fc::artifacts
