#include "worker/transfer/job_artifacts.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

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

// A blob uri -> its local path; a plain path stays. No client: FAILED_PRECONDITION.
StatusOr<std::string> LocalPathOf(ArtifactClient* client, const std::string& uri, const std::string& what,
                                  const CancelFn& cancelled) {
  if (!IsBlobUri(uri)) return uri;
  if (client == nullptr) {
    return FailedPreconditionError("{} is a blob uri ({}) but this worker has no artifact store", what, uri);
  }
  auto path = client->Materialize(uri, cancelled);
  if (!path.ok()) return path.status().WithContext(fmt::format("{} ({})", what, uri));
  spdlog::info("{} {} -> {}", what, uri, *path);
  return path;
}

// The "step" of <dir>/checkpoint.json (finetune's lineage file), for a resume_from that is not
// among resume_checkpoints.
StatusOr<int64_t> StepOfCheckpointDir(const std::string& dir) {
  std::ifstream in(dir + "/checkpoint.json");
  if (!in) return InvalidArgumentError("param 'resume_from': '{}' has no checkpoint.json", dir);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (!j.is_object() || !j.contains("step") || !j.at("step").is_number_integer() || j.at("step").get<int64_t>() < 0) {
    return InvalidArgumentError("param 'resume_from': '{}/checkpoint.json' has no integer step >= 0", dir);
  }
  return j.at("step").get<int64_t>();
}

// Parses resume_checkpoints {"<step>": "<uri or path>"}.
StatusOr<std::map<int64_t, std::string>> ParseResumeCheckpoints(const nlohmann::json& v) {
  std::map<int64_t, std::string> out;
  if (!v.is_object()) {
    return InvalidArgumentError("param '{}': expected an object {{\"<step>\": uri}}, got {}", kResumeCheckpointsParam,
                                v.dump());
  }
  for (const auto& [k, uri] : v.items()) {
    if (k.empty() || k.size() > 18 || k.find_first_not_of("0123456789") != std::string::npos) {
      return InvalidArgumentError("param '{}.{}': the key must be a step (an integer >= 0)", kResumeCheckpointsParam, k);
    }
    if (!uri.is_string() || uri.get<std::string>().empty()) {
      return InvalidArgumentError("param '{}.{}': expected a non-empty uri string, got {}", kResumeCheckpointsParam, k,
                                  uri.dump());
    }
    out[std::stoll(k)] = uri.get<std::string>();
  }
  return out;
}

Status MaterializeResume(ArtifactClient* client, nlohmann::json* params, const std::string& resume_dir,
                         const CancelFn& cancelled) {
  std::map<int64_t, std::string> earlier;
  if (params->contains(kResumeCheckpointsParam)) {
    FC_ASSIGN_OR_RETURN(earlier, ParseResumeCheckpoints(params->at(kResumeCheckpointsParam)));
    params->erase(kResumeCheckpointsParam);
  }
  if (!params->contains(kResumeFromParam) || !params->at(kResumeFromParam).is_string()) return Status::OK();
  std::string from = params->at(kResumeFromParam).get<std::string>();
  if (!IsBlobUri(from)) {
    std::error_code exists_ec;
    std::optional<int64_t> newest_blob;
    for (const auto& [s, uri] : earlier) {
      if (IsBlobUri(uri)) newest_blob = s;
    }
    // Plain-path mode: its siblings are next to it. But when it is not on this host (its upload
    // failed on another worker), resume from the newest checkpoint that did reach the store.
    if (fs::exists(from, exists_ec) || !newest_blob) return Status::OK();
    spdlog::warn("param 'resume_from': '{}' is not on this host; resuming from step {} ({}) instead", from,
                 *newest_blob, earlier.at(*newest_blob));
    from = earlier.at(*newest_blob);
  }

  std::optional<int64_t> step;
  for (const auto& [s, uri] : earlier) {
    if (uri == from) step = s;
  }
  if (!step) {
    FC_ASSIGN_OR_RETURN(std::string dir, LocalPathOf(client, from, "param 'resume_from'", cancelled));
    FC_ASSIGN_OR_RETURN(step, StepOfCheckpointDir(dir));
    earlier[*step] = from;
  }
  std::error_code ec;
  fs::remove_all(resume_dir, ec);
  fs::create_directories(resume_dir, ec);
  if (ec) return InternalError("cannot create '{}': {}", resume_dir, ec.message());
  for (const auto& [s, uri] : earlier) {
    if (s > *step) continue;  // a later attempt's checkpoint past the resume point: not ours
    const std::string what = fmt::format("param '{}.{}'", kResumeCheckpointsParam, s);
    FC_ASSIGN_OR_RETURN(std::string dir, LocalPathOf(client, uri, what, cancelled));
    if (!fs::is_directory(dir, ec)) {
      if (s == *step) return InvalidArgumentError("param 'resume_from': '{}' is not a folder here", dir);
      spdlog::warn("{}: '{}' is not on this host; the resumed run will not list that checkpoint", what, dir);
      continue;
    }
    const std::string link = resume_dir + "/checkpoint-" + std::to_string(s);
    fs::create_directory_symlink(fs::absolute(dir), link, ec);
    if (ec) return InternalError("cannot link '{}' -> '{}': {}", link, dir, ec.message());
  }
  (*params)[kResumeFromParam] = resume_dir + "/checkpoint-" + std::to_string(*step);
  spdlog::info("resume_from {} -> {} ({} checkpoint(s) linked)", from, params->at(kResumeFromParam).get<std::string>(),
               std::distance(fs::directory_iterator(resume_dir, ec), fs::directory_iterator()));
  return Status::OK();
}

}  // namespace

StatusOr<nlohmann::json> UploadCheckpointReport(ArtifactClient& client, const nlohmann::json& metrics,
                                                const std::string& output_dir, const CancelFn& cancelled) {
  if (!metrics.is_object() || !metrics.contains("checkpoint")) return metrics;
  const nlohmann::json& c = metrics.at("checkpoint");
  if (!c.is_object() || !c.contains("path") || !c.at("path").is_string()) return metrics;
  const std::string path = PathInside(c.at("path").get<std::string>(), output_dir);
  if (path.empty()) return metrics;  // not the job's own folder (or already a uri): as reported
  auto up = client.Upload(path, "checkpoint", cancelled);
  if (up.status().code() == StatusCode::kUnimplemented) return metrics;
  if (!up.ok()) return up.status().WithContext(fmt::format("checkpoint '{}'", path));
  nlohmann::json out = metrics;
  out["checkpoint"]["path"] = up->is_tree ? FormatBlobUri(up->sha256) : FormatBlobUri(up->sha256, fs::path(path).filename().string());
  out["checkpoint"]["local_path"] = path;
  spdlog::info("checkpoint {} -> {} ({} bytes, {} file(s), {} sent)", path, out["checkpoint"]["path"].get<std::string>(),
               up->size, up->files, up->bytes_sent);
  return out;
}

Status MaterializeParams(ArtifactClient* client, nlohmann::json* params, const std::string& resume_dir,
                         const CancelFn& cancelled) {
  if (!params->is_object()) return Status::OK();
  FC_RETURN_IF_ERROR(MaterializeResume(client, params, resume_dir, cancelled));
  for (auto it = params->begin(); it != params->end(); ++it) {
    if (!it->is_string() || !IsBlobUri(it->get<std::string>())) continue;
    FC_ASSIGN_OR_RETURN(std::string path,
                        LocalPathOf(client, it->get<std::string>(), fmt::format("param '{}'", it.key()), cancelled));
    *it = path;
  }
  return Status::OK();
}

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
