#include "worker/data/row_io.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "worker/data/csv.h"

namespace fc::data {
namespace {

using nlohmann::ordered_json;

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFoundError("cannot open '{}'", path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Writes to path.tmp and renames, so a reader never sees half a file.
Status WriteFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return UnavailableError("cannot open '{}' for writing", tmp);
    f << text;
    f.close();
    if (!f) return UnavailableError("write of '{}' failed", tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return UnavailableError("rename '{}' -> '{}' failed", tmp, path);
  return Status::OK();
}

// "26" -> 26 (JSON number, like the paper's files); anything else stays a string.
ordered_json LabelJson(const std::string& label) {
  if (label.empty() || label.size() > 18) return label;
  size_t start = label[0] == '-' ? 1 : 0;
  if (start == label.size()) return label;
  for (size_t i = start; i < label.size(); ++i) {
    if (label[i] < '0' || label[i] > '9') return label;
  }
  if (label[start] == '0' && label.size() > start + 1) return label;  // "007" is not canonical
  if (label == "-0") return label;
  return std::stoll(label);
}

Status WriteJsonl(const std::string& path, const std::vector<TaskRow>& rows, bool finetune) {
  std::string out;
  try {
    for (const TaskRow& r : rows) {
      ordered_json j = ordered_json::object();
      if (finetune) {
        j["instruction"] = "";
        j["input"] = r.clean;
        j["output"] = LabelJson(r.label);
      }
      j["clean"] = r.clean;
      j["corrupted"] = r.corrupted;
      j["label"] = LabelJson(r.label);
      out += j.dump();
      out.push_back('\n');
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError("{}: cannot write rows (invalid UTF-8?): {}", path, e.what());
  }
  return WriteFile(path, out);
}

// A string field, or (for labels) an integer written as a number.
StatusOr<std::string> TextField(const nlohmann::json& obj, const char* key, const std::string& where,
                                bool number_ok) {
  auto it = obj.find(key);
  if (it == obj.end()) return InvalidArgumentError("{}: field '{}': missing", where, key);
  if (it->is_string()) return it->get<std::string>();
  if (number_ok && it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return InvalidArgumentError("{}: field '{}': expected a {}, got {}", where, key,
                              number_ok ? "string or integer" : "string", it->type_name());
}

}  // namespace

Status WriteCircuitJsonl(const std::string& path, const std::vector<TaskRow>& rows) {
  return WriteJsonl(path, rows, false);
}
Status WriteFinetuneJsonl(const std::string& path, const std::vector<TaskRow>& rows) {
  return WriteJsonl(path, rows, true);
}

StatusOr<std::vector<TaskRow>> ReadRowsJsonl(const std::string& path) {
  FC_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::vector<TaskRow> rows;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", path, line_no);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      return InvalidArgumentError("{}: invalid JSON at column {}: {}", where, e.byte, e.what());
    }
    if (!j.is_object()) return InvalidArgumentError("{}: expected a JSON object, got {}", where, j.type_name());
    TaskRow row;
    if (j.contains("clean")) {
      FC_ASSIGN_OR_RETURN(row.clean, TextField(j, "clean", where, false));
      FC_ASSIGN_OR_RETURN(row.corrupted, TextField(j, "corrupted", where, false));
      FC_ASSIGN_OR_RETURN(row.label, TextField(j, "label", where, true));
    } else if (j.contains("input")) {
      FC_ASSIGN_OR_RETURN(row.clean, TextField(j, "input", where, false));
      FC_ASSIGN_OR_RETURN(row.label, TextField(j, "output", where, true));
    } else {
      return InvalidArgumentError("{}: field 'clean' (or 'input'): missing", where);
    }
    if (row.clean.empty()) return InvalidArgumentError("{}: field 'clean': empty prompt", where);
    if (row.label.empty()) return InvalidArgumentError("{}: field 'label': empty", where);
    rows.push_back(std::move(row));
  }
  return rows;
}

Status WriteRowsCsv(const std::string& path, const std::vector<TaskRow>& rows) {
  std::string out = "clean,corrupted,label\n";
  for (const TaskRow& r : rows) {
    out += CsvEscape(r.clean) + "," + CsvEscape(r.corrupted) + "," + CsvEscape(r.label) + "\n";
  }
  return WriteFile(path, out);
}

StatusOr<std::vector<TaskRow>> ReadRowsCsv(const std::string& path) {
  FC_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  FC_ASSIGN_OR_RETURN(std::vector<CsvRecord> records, ParseCsv(text, path));
  if (records.empty()) return InvalidArgumentError("{}:1: empty file (expected header clean,corrupted,label)", path);
  const CsvRecord& header = records[0];
  int col[3] = {-1, -1, -1};
  const char* names[3] = {"clean", "corrupted", "label"};
  for (size_t c = 0; c < header.fields.size(); ++c) {
    for (int k = 0; k < 3; ++k) {
      if (header.fields[c] == names[k]) col[k] = static_cast<int>(c);
    }
  }
  for (int k = 0; k < 3; ++k) {
    if (col[k] < 0) {
      return InvalidArgumentError("{}:{}: header has no column '{}' (expected clean,corrupted,label)", path,
                                  header.line, names[k]);
    }
  }
  std::vector<TaskRow> rows;
  rows.reserve(records.size() - 1);
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& rec = records[r];
    if (rec.fields.size() != header.fields.size()) {
      return InvalidArgumentError("{}:{}: expected {} fields as in the header, got {}", path, rec.line,
                                  header.fields.size(), rec.fields.size());
    }
    TaskRow row{rec.fields[col[0]], rec.fields[col[1]], rec.fields[col[2]]};
    for (int k = 0; k < 3; ++k) {
      if (rec.fields[col[k]].empty()) return InvalidArgumentError("{}:{}: field '{}': empty", path, rec.line, names[k]);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

StatusOr<std::vector<TaskRow>> ReadRows(const std::string& path) {
  auto ends_with = [&](const std::string& suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".csv")) return ReadRowsCsv(path);
  if (ends_with(".jsonl") || ends_with(".json")) return ReadRowsJsonl(path);
  return InvalidArgumentError("'{}': unknown dataset format (expected .csv, .jsonl or .json)", path);
}

}  // namespace fc::data
