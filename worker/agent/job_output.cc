#include "worker/agent/job_output.h"

#include <filesystem>
#include <fstream>
#include <system_error>

namespace fc::agent {

nlohmann::json ArtifactToJson(const ArtifactRef& a) {
  return {{"name", a.name}, {"kind", a.kind}, {"uri", a.uri}, {"size", a.size}, {"sha256", a.sha256}};
}

nlohmann::json ResultRecord(const JobContext& ctx, const Status& run_status) {
  nlohmann::json outputs = nlohmann::json::array();
  for (const ArtifactRef& a : ctx.outputs()) outputs.push_back(ArtifactToJson(a));
  nlohmann::json rec = {{"job", ctx.job_id()},   {"kind", ctx.kind()},
                        {"params", ctx.params()}, {"status", StatusCodeName(run_status.code())},
                        {"result", ctx.result()}, {"outputs", outputs}};
  if (!run_status.ok()) rec["error"] = run_status.message();
  return rec;
}

Status MakeDirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return InternalError("cannot create directory '{}': {}", dir, ec.message());
  return Status::OK();
}

Status WriteResultFile(const JobContext& ctx, const Status& run_status) {
  FC_RETURN_IF_ERROR(MakeDirs(ctx.output_dir()));
  const std::string path = ctx.output_dir() + "/result.json";
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) return InternalError("cannot write '{}'", tmp);
    f << ResultRecord(ctx, run_status).dump(2) << "\n";
    if (!f.flush()) return InternalError("cannot write '{}'", tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return InternalError("cannot rename '{}' to '{}': {}", tmp, path, ec.message());
  return Status::OK();
}

}  // namespace fc::agent
