#include "worker/jobs/job_io.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fc::jobs {
namespace fs = std::filesystem;

StatusOr<std::string> ResolveInputValue(const agent::JobContext& ctx, const JobParams& params,
                                        const std::string& param, const std::string& value,
                                        const std::string& want_output) {
  if (value.empty()) return params.Invalid(param, "is empty");
  const size_t dot = value.find('.');
  const std::string job = value.substr(0, dot);
  auto it = ctx.inputs().find(job);
  if (it != ctx.inputs().end()) {
    std::string output = want_output;
    if (output.empty() && dot != std::string::npos) output = value.substr(dot + 1);
    const auto& outs = it->second.outputs;
    if (outs.empty()) return FailedPreconditionError("param '{}': dependency '{}' has no outputs", param, job);
    if (output.empty()) return outs.front().uri;
    for (const auto& a : outs) {
      if (a.name == output) return a.uri;
    }
    return FailedPreconditionError("param '{}': dependency '{}' has no output '{}'", param, job, output);
  }
  std::error_code ec;
  if (fs::exists(value, ec)) return value;
  return params.Invalid(param, fmt::format("'{}' is neither a dependency of this job nor an existing path", value));
}

StatusOr<std::string> ResolveInput(const agent::JobContext& ctx, const JobParams& params,
                                   const std::string& param, const std::string& want_output) {
  FC_ASSIGN_OR_RETURN(std::string value, params.Str(param));
  return ResolveInputValue(ctx, params, param, value, want_output);
}

std::optional<nlohmann::json> DependencyResult(const agent::JobContext& ctx, const JobParams& params,
                                               const std::string& param) {
  auto value = params.OptStr(param);
  if (!value.ok() || value->empty()) return std::nullopt;
  auto it = ctx.inputs().find(value->substr(0, value->find('.')));
  if (it == ctx.inputs().end()) return std::nullopt;
  return it->second.result;
}

std::string ResolveDeviceName(const agent::JobContext& ctx, const JobParams& params) {
  std::string d = params.Has("device") ? params.json().at("device").get<std::string>() : "auto";
  if (d == "auto") d = ctx.device().empty() ? "cpu" : ctx.device();
  if (d == "cuda") d = "cuda:0";
  return d;
}

bool IsDir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

bool IsFile(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

Status MakeDir(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return InternalError("cannot create directory '{}': {}", path, ec.message());
  return Status::OK();
}

Status LinkOrCopyTree(const std::string& src, const std::string& dst) {
  std::error_code ec;
  if (fs::is_directory(src, ec)) {
    FC_RETURN_IF_ERROR(MakeDir(dst));
    for (const auto& entry : fs::directory_iterator(src, ec)) {
      FC_RETURN_IF_ERROR(LinkOrCopyTree(entry.path().string(), dst + "/" + entry.path().filename().string()));
    }
    if (ec) return InternalError("cannot list '{}': {}", src, ec.message());
    return Status::OK();
  }
  fs::create_hard_link(src, dst, ec);
  if (!ec) return Status::OK();
  ec.clear();
  fs::copy_file(src, dst, fs::copy_options::overwrite_existing, ec);
  if (ec) return InternalError("cannot copy '{}' to '{}': {}", src, dst, ec.message());
  return Status::OK();
}

StatusOr<nlohmann::json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFoundError("cannot open '{}'", path);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgumentError("'{}' is not valid JSON", path);
  return j;
}

Status WriteJsonFile(const std::string& path, const nlohmann::json& j) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return InternalError("cannot write '{}'", tmp);
    // Replace NaN/inf (no JSON form) by null rather than failing the job.
    out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    if (!out) return InternalError("cannot write '{}'", tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return InternalError("cannot rename '{}' to '{}': {}", tmp, path, ec.message());
  return Status::OK();
}

void AddPathOutput(agent::JobContext& ctx, const std::string& name, const std::string& kind,
                   const std::string& path) {
  int64_t size = 0;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::recursive_directory_iterator(path, ec)) {
      if (e.is_regular_file(ec)) size += static_cast<int64_t>(e.file_size(ec));
    }
  } else {
    size = static_cast<int64_t>(fs::file_size(path, ec));
    if (ec) size = 0;
  }
  agent::ArtifactRef a;
  a.name = name;
  a.kind = kind;
  a.uri = path;
  a.size = size;
  ctx.AddOutput(std::move(a));
}

Stopwatch::Stopwatch()
    : start_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count()) {}

double Stopwatch::Seconds() const {
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  return static_cast<double>(now - start_ns_) * 1e-9;
}

}  // namespace fc::jobs
