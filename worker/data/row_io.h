// Task rows on disk.
//
// JSONL, one object per line:
//   circuit rows    {"clean": .., "corrupted": .., "label": ..}
//   fine-tune rows  {"instruction": "", "input": clean, "output": label, "clean": .., "corrupted": .., "label": ..}
//   (the first three keys are the paper's format, algorithms.md 6.1; the circuit keys are kept
//   so fine-tune rows can also feed circuit discovery, e.g. the robustness splits).
// Labels that are canonical integers are written as JSON numbers, as the paper's files do;
// readers accept numbers or strings. A reader accepts either layout (a row with only
// instruction/input/output gets corrupted = "").
// CSV: the original's header clean,corrupted,label (any column order, extra columns ignored),
// RFC 4180 quoting (csv.h).
// Every error names the file and the line: "data.csv:12: expected 3 fields as in the header, got 2".
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "worker/data/task_row.h"

namespace fc::data {

Status WriteCircuitJsonl(const std::string& path, const std::vector<TaskRow>& rows);
Status WriteFinetuneJsonl(const std::string& path, const std::vector<TaskRow>& rows);
StatusOr<std::vector<TaskRow>> ReadRowsJsonl(const std::string& path);

Status WriteRowsCsv(const std::string& path, const std::vector<TaskRow>& rows);
StatusOr<std::vector<TaskRow>> ReadRowsCsv(const std::string& path);

// By extension: .csv -> CSV, .jsonl / .json -> JSONL; anything else is an error.
StatusOr<std::vector<TaskRow>> ReadRows(const std::string& path);

}  // namespace fc::data
