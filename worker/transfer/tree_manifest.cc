#include "worker/transfer/tree_manifest.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "coordinator/artifacts/sha256_hasher.h"

namespace fc::transfer {
namespace fs = std::filesystem;

int64_t TreeManifest::TotalSize() const {
  int64_t n = 0;
  for (const TreeEntry& e : files) n += e.size;
  return n;
}

Status CheckRelativePath(std::string_view path, std::string_view what) {
  auto bad = [&](const char* why) {
    return InvalidArgumentError("{}: path '{}' {}", what, std::string(path.substr(0, 200)), why);
  };
  if (path.empty()) return bad("is empty");
  if (path.size() > 4096) return bad("is longer than 4096 bytes");
  if (path.front() == '/') return bad("is absolute");
  if (path.find('\\') != std::string_view::npos) return bad("contains a backslash");
  if (path.find('\0') != std::string_view::npos) return bad("contains a NUL byte");
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string_view part = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty()) return bad("has an empty component");
    if (part == "." || part == "..") return bad("has a '.' or '..' component");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return Status::OK();
}

std::string SerializeManifest(TreeManifest manifest) {
  std::sort(manifest.files.begin(), manifest.files.end(),
            [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; });
  nlohmann::json files = nlohmann::json::array();
  for (const TreeEntry& e : manifest.files) {
    files.push_back({{"path", e.path}, {"sha256", e.sha256}, {"size", e.size}});
  }
  nlohmann::json j = {{"type", "tree"}, {"files", std::move(files)}};
  return j.dump();
}

StatusOr<TreeManifest> ParseManifest(std::string_view json, std::string_view source) {
  if (static_cast<int64_t>(json.size()) > kMaxManifestBytes) {
    return InvalidArgumentError("manifest {}: {} bytes exceeds the {} byte limit", source, json.size(), kMaxManifestBytes);
  }
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgumentError("manifest {}: not a JSON object", source);
  auto type = j.find("type");
  if (type == j.end() || !type->is_string() || *type != "tree") {
    return InvalidArgumentError("manifest {}: field 'type' must be \"tree\"", source);
  }
  auto files = j.find("files");
  if (files == j.end() || !files->is_array()) return InvalidArgumentError("manifest {}: field 'files' must be an array", source);
  if (files->size() > kMaxTreeFiles) {
    return InvalidArgumentError("manifest {}: {} files exceeds the limit of {}", source, files->size(), kMaxTreeFiles);
  }
  TreeManifest m;
  std::set<std::string> paths;
  for (size_t i = 0; i < files->size(); ++i) {
    const nlohmann::json& f = (*files)[i];
    const std::string what = fmt::format("manifest {} files[{}]", source, i);
    if (!f.is_object()) return InvalidArgumentError("{}: not an object", what);
    auto p = f.find("path"), h = f.find("sha256"), s = f.find("size");
    if (p == f.end() || !p->is_string()) return InvalidArgumentError("{}: field 'path' must be a string", what);
    if (h == f.end() || !h->is_string()) return InvalidArgumentError("{}: field 'sha256' must be a string", what);
    if (s == f.end() || !s->is_number_integer() || s->get<int64_t>() < 0) {
      return InvalidArgumentError("{}: field 'size' must be an integer >= 0", what);
    }
    TreeEntry e{p->get<std::string>(), h->get<std::string>(), s->get<int64_t>()};
    FC_RETURN_IF_ERROR(CheckRelativePath(e.path, what));
    FC_RETURN_IF_ERROR(artifacts::CheckSha256Hex(e.sha256, what + " field 'sha256'"));
    if (!m.files.empty() && !(m.files.back().path < e.path)) {
      return InvalidArgumentError("{}: path '{}' is not after '{}' (paths must be sorted and unique)", what, e.path,
                                  m.files.back().path);
    }
    paths.insert(e.path);
    m.files.push_back(std::move(e));
  }
  for (const TreeEntry& e : m.files) {
    for (size_t slash = e.path.find('/'); slash != std::string::npos; slash = e.path.find('/', slash + 1)) {
      if (paths.count(e.path.substr(0, slash))) {
        return InvalidArgumentError("manifest {}: '{}' is both a file and the parent of '{}'", source,
                                    e.path.substr(0, slash), e.path);
      }
    }
  }
  return m;
}

StatusOr<std::vector<TreeFile>> ListTreeFiles(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFoundError("directory '{}' does not exist", dir);
  std::vector<TreeFile> out;
  fs::recursive_directory_iterator it(dir, ec), end;
  if (ec) return InternalError("cannot list '{}': {}", dir, ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return InternalError("cannot list '{}': {}", dir, ec.message());
    const fs::path& p = it->path();
    fs::file_status ls = it->symlink_status(ec);
    if (ec) return InternalError("cannot stat '{}': {}", p.string(), ec.message());
    if (fs::is_directory(ls)) continue;
    fs::file_status st = it->status(ec);  // follows links
    if (ec || !fs::is_regular_file(st)) {
      return InvalidArgumentError("tree '{}': '{}' is not a regular file (only files and directories can be stored)",
                                  dir, p.string());
    }
    // Lexically: fs::relative would resolve a symlinked file to its target's name.
    std::string rel = p.lexically_relative(fs::path(dir)).generic_string();
    FC_RETURN_IF_ERROR(CheckRelativePath(rel, fmt::format("tree '{}'", dir)));
    out.push_back({rel, p.string()});
  }
  std::sort(out.begin(), out.end(), [](const TreeFile& a, const TreeFile& b) { return a.rel < b.rel; });
  return out;
}

}  // namespace fc::transfer
