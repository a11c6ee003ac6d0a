#include "tests/e2e/store_files.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace fc::e2e {
namespace fs = std::filesystem;

std::string BlobPath(const std::string& artifacts_dir, const std::string& sha) {
  return artifacts_dir + "/blobs/" + sha.substr(0, 2) + "/" + sha;
}

std::string BlobSha(const std::string& uri) {
  if (uri.rfind("blob:", 0) != 0) return "";
  std::string rest = uri.substr(5);
  return rest.substr(0, rest.find('/'));
}

namespace {

bool CopyOut(const std::string& from, const fs::path& to, std::string* error) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    *error = "cannot copy " + from + " to " + to.string() + ": " + ec.message();
    return false;
  }
  fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add, ec);
  return true;
}

}  // namespace

std::string RebuildFromStore(const std::string& artifacts_dir, const std::string& uri,
                             const std::string& dest, std::string* error) {
  const std::string sha = BlobSha(uri);
  if (sha.size() != 64) {
    *error = "'" + uri + "' is not a blob uri";
    return "";
  }
  const std::string blob = BlobPath(artifacts_dir, sha);
  if (!fs::is_regular_file(blob)) {
    *error = uri + ": blob " + blob + " is not in the store";
    return "";
  }
  const std::string after = uri.substr(5 + 64);
  if (!after.empty()) {  // "/<name>": a single file
    fs::path out = fs::path(dest) / after.substr(1);
    return CopyOut(blob, out, error) ? out.string() : "";
  }
  std::ifstream f(blob);
  nlohmann::json manifest = nlohmann::json::parse(f, nullptr, false);
  if (manifest.is_discarded() || manifest.value("type", "") != "tree" || !manifest.contains("files")) {
    *error = uri + ": blob " + blob + " is not a tree manifest";
    return "";
  }
  for (const auto& e : manifest.at("files")) {
    const std::string file_sha = e.at("sha256").get<std::string>();
    const std::string from = BlobPath(artifacts_dir, file_sha);
    if (!fs::is_regular_file(from)) {
      *error = uri + ": file '" + e.at("path").get<std::string>() + "' (blob " + file_sha + ") is not in the store";
      return "";
    }
    if (!CopyOut(from, fs::path(dest) / e.at("path").get<std::string>(), error)) return "";
  }
  return dest;
}

std::string TreeFileSha(const std::string& artifacts_dir, const std::string& tree_uri, const std::string& path,
                        std::string* error) {
  const std::string sha = BlobSha(tree_uri);
  std::ifstream f(BlobPath(artifacts_dir, sha.empty() ? std::string(64, '0') : sha));
  nlohmann::json manifest = nlohmann::json::parse(f, nullptr, false);
  if (manifest.is_discarded() || !manifest.contains("files")) {
    *error = tree_uri + ": no tree manifest in the store";
    return "";
  }
  for (const auto& e : manifest.at("files")) {
    if (e.value("path", "") == path) return e.value("sha256", "");
  }
  *error = tree_uri + ": the manifest has no file '" + path + "'";
  return "";
}

std::string FlipStoredByte(const std::string& artifacts_dir, const std::string& sha, long offset) {
  const std::string path = BlobPath(artifacts_dir, sha);
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0) return path + ": no such blob";
  if (offset >= sb.st_size) return path + ": offset past the end";
  ::chmod(path.c_str(), 0644);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  if (!f) return path + ": cannot open for writing";
  f.seekg(offset);
  char c = 0;
  f.get(c);
  c = static_cast<char>(c ^ 0x01);
  f.seekp(offset);
  f.put(c);
  f.close();
  ::chmod(path.c_str(), sb.st_mode & 07777);
  return f ? "" : path + ": write failed";
}

std::vector<std::string> QuarantinedCopies(const std::string& artifacts_dir, const std::string& sha) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(artifacts_dir + "/corrupt", ec)) {
    if (e.path().filename().string().rfind(sha, 0) == 0) out.push_back(e.path().string());
  }
  return out;
}

}  // namespace fc::e2e
