#include "worker/jobs/rows_input.h"

#include <filesystem>

#include "worker/data/row_io.h"
#include "worker/jobs/job_io.h"

namespace fc::jobs {

StatusOr<std::vector<data::TaskRow>> ReadRowsInput(const JobParams& params, const std::string& param,
                                                   const std::string& path, const std::string& folder_file) {
  std::string file = IsDir(path) ? path + "/" + folder_file : path;
  if (!IsFile(file)) return params.Invalid(param, fmt::format("'{}' is not a rows file", file));
  auto rows = data::ReadRows(file);
  if (!rows.ok()) return params.Invalid(param, rows.status().message());
  if (rows->empty()) return params.Invalid(param, fmt::format("'{}' has no rows", file));
  return rows;
}

std::optional<nlohmann::json> DatasetMeta(const agent::JobContext& ctx, const JobParams& params,
                                          const std::string& param, const std::string& path) {
  auto dep = DependencyResult(ctx, params, param);
  if (dep && dep->is_object() && dep->contains("task")) return dep;
  std::string dir = IsDir(path) ? path : std::filesystem::path(path).parent_path().string();
  auto meta = ReadJsonFile((dir.empty() ? "." : dir) + "/" + kDatasetMetaFile);
  if (meta.ok() && meta->is_object() && meta->contains("task")) return *meta;
  return std::nullopt;
}

}  // namespace fc::jobs
