#include "worker/finetune/checkpointer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace fc::finetune {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr char kTmpPrefix[] = ".tmp-";

Status FsyncTree(const fs::path& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    FC_RETURN_IF_ERROR(FsyncPath(it->path().string()));
  }
  if (ec) return InternalError("cannot list '{}': {}", dir.string(), ec.message());
  return FsyncPath(dir.string());
}

json InfoToJson(const CheckpointInfo& i) {
  json j;
  j["name"] = i.name;
  j["parent"] = i.parent;
  j["step"] = i.step;
  j["loss"] = std::isfinite(i.loss) ? json(i.loss) : json(nullptr);
  j["train_loss"] = i.train_loss && std::isfinite(*i.train_loss) ? json(*i.train_loss) : json(nullptr);
  j["accuracy"] = i.accuracy;
  j["job_id"] = i.job_id;
  j["method"] = i.method;
  j["base_model"] = i.base_model;
  return j;
}

}  // namespace

Status FsyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return InternalError("cannot open '{}' for fsync: {}", path, std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return InternalError("fsync '{}' failed: {}", path, std::strerror(err));
  return Status::OK();
}

std::string CheckpointName(int64_t step) { return "checkpoint-" + std::to_string(step); }

StatusOr<CheckpointInfo> ReadCheckpointInfo(const std::string& dir) {
  const std::string path = dir + "/" + kCheckpointInfoFile;
  std::ifstream in(path);
  if (!in) return NotFoundError("checkpoint info '{}' not found", path);
  CheckpointInfo i;
  try {
    json j = json::parse(in);
    i.name = j.at("name").get<std::string>();
    i.parent = j.at("parent").get<std::string>();
    i.step = j.at("step").get<int64_t>();
    i.loss = j.at("loss").is_null() ? NAN : j.at("loss").get<double>();
    if (j.contains("train_loss") && !j["train_loss"].is_null()) i.train_loss = j["train_loss"].get<double>();
    i.accuracy = j.at("accuracy").get<double>();
    i.job_id = j.value("job_id", "");
    i.method = j.value("method", "");
    i.base_model = j.value("base_model", "");
  } catch (const json::exception& e) {
    return DataLossError("{}: corrupt checkpoint info: {}", path, e.what());
  }
  return i;
}

StatusOr<std::vector<CheckpointInfo>> Checkpointer::List() const {
  std::vector<CheckpointInfo> out;
  std::error_code ec;
  if (!fs::exists(out_, ec)) return out;
  for (const auto& entry : fs::directory_iterator(out_, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind("checkpoint-", 0) != 0) continue;
    auto info = ReadCheckpointInfo(entry.path().string());
    if (!info.ok()) continue;  // not complete (e.g. copied by hand): not a resume point
    out.push_back(*info);
  }
  if (ec) return InternalError("cannot list '{}': {}", out_, ec.message());
  std::sort(out.begin(), out.end(), [](const CheckpointInfo& a, const CheckpointInfo& b) { return a.step < b.step; });
  return out;
}

StatusOr<std::optional<std::string>> Checkpointer::Latest() const {
  FC_ASSIGN_OR_RETURN(auto all, List());
  if (all.empty()) return std::optional<std::string>();
  return std::optional<std::string>(PathOf(all.back().name));
}

StatusOr<std::string> Checkpointer::Save(CheckpointInfo info, const std::function<Status(const std::string&)>& write) {
  std::error_code ec;
  fs::create_directories(out_, ec);
  if (ec) return InternalError("cannot create checkpoint folder '{}': {}", out_, ec.message());
  FC_ASSIGN_OR_RETURN(auto existing, List());
  info.name = CheckpointName(info.step);
  info.parent = kBaseParent;
  for (const auto& e : existing) {
    if (e.step < info.step) info.parent = e.name;
  }
  const fs::path tmp = fs::path(out_) / (std::string(kTmpPrefix) + info.name);
  const fs::path final_dir = fs::path(out_) / info.name;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return InternalError("cannot create '{}': {}", tmp.string(), ec.message());
  FC_RETURN_IF_ERROR(write(tmp.string()));
  {
    std::ofstream out(tmp / kCheckpointInfoFile, std::ios::trunc);
    out << InfoToJson(info).dump(2) << "\n";
    out.flush();
    if (!out) return InternalError("cannot write '{}'", (tmp / kCheckpointInfoFile).string());
  }
  FC_RETURN_IF_ERROR(FsyncTree(tmp));
  // Re-saving a step (a resumed run repeating it) replaces the old folder.
  if (fs::exists(final_dir)) fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  if (ec) return InternalError("cannot rename '{}' to '{}': {}", tmp.string(), final_dir.string(), ec.message());
  FC_RETURN_IF_ERROR(FsyncPath(out_));
  // Sweep leftovers of interrupted saves and apply keep_latest_k.
  for (const auto& entry : fs::directory_iterator(out_, ec)) {
    if (entry.path().filename().string().rfind(kTmpPrefix, 0) == 0) fs::remove_all(entry.path(), ec);
  }
  if (keep_ > 0) {
    FC_ASSIGN_OR_RETURN(auto all, List());
    for (size_t i = 0; i + static_cast<size_t>(keep_) < all.size(); ++i) fs::remove_all(PathOf(all[i].name), ec);
  }
  return final_dir.string();
}

}  // namespace fc::finetune
