#include "worker/transfer/artifact_uri.h"

#include "coordinator/artifacts/sha256_hasher.h"

namespace fc::transfer {

namespace {
constexpr std::string_view kScheme = "blob:";
}

std::string FormatBlobUri(const std::string& sha256, const std::string& file_name) {
  return file_name.empty() ? std::string(kScheme) + sha256 : std::string(kScheme) + sha256 + "/" + file_name;
}

bool IsBlobUri(std::string_view uri) { return uri.substr(0, kScheme.size()) == kScheme; }

StatusOr<BlobUri> ParseBlobUri(std::string_view uri) {
  if (!IsBlobUri(uri)) return InvalidArgumentError("artifact uri '{}': expected blob:<sha256>[/<name>]", uri);
  std::string_view rest = uri.substr(kScheme.size());
  BlobUri out;
  size_t slash = rest.find('/');
  out.sha256 = std::string(rest.substr(0, slash));
  FC_RETURN_IF_ERROR(artifacts::CheckSha256Hex(out.sha256, fmt::format("artifact uri '{}'", uri)));
  if (slash != std::string_view::npos) {
    out.file_name = std::string(rest.substr(slash + 1));
    if (out.file_name.empty() || out.file_name == "." || out.file_name == ".." ||
        out.file_name.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos) {
      return InvalidArgumentError("artifact uri '{}': file name must be one path component", uri);
    }
  }
  return out;
}

}  // namespace fc::transfer
