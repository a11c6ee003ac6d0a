#include "worker/data/dataset.h"

#include <filesystem>

#include "worker/data/row_io.h"

namespace fc::data {

StatusOr<DatasetSplit> MakeDataset(const DatasetSpec& spec, const text::Tokenizer& tokenizer) {
  FC_ASSIGN_OR_RETURN(std::vector<TaskRow> rows, GenerateTask(spec.task, tokenizer));
  return SplitRows(rows, spec.circuit_fraction.value_or(DefaultCircuitFraction(spec.task)), spec.split_seed);
}

Status WriteDatasetDir(const std::string& dir, const DatasetSplit& split) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return UnavailableError("cannot create dataset directory '{}': {}", dir, ec.message());
  FC_RETURN_IF_ERROR(WriteFinetuneJsonl((std::filesystem::path(dir) / kFinetuneFile).string(), split.finetune));
  return WriteCircuitJsonl((std::filesystem::path(dir) / kCircuitFile).string(), split.circuit);
}

StatusOr<DatasetSplit> ReadDatasetDir(const std::string& dir) {
  DatasetSplit split;
  FC_ASSIGN_OR_RETURN(split.finetune, ReadRowsJsonl((std::filesystem::path(dir) / kFinetuneFile).string()));
  FC_ASSIGN_OR_RETURN(split.circuit, ReadRowsJsonl((std::filesystem::path(dir) / kCircuitFile).string()));
  return split;
}

}  // namespace fc::data
