// Minimal RFC 4180 CSV reader/writer: comma separated, fields optionally in double quotes,
// "" inside quotes is a quote, quoted fields may contain commas and newlines, CRLF or LF line
// ends, a UTF-8 byte-order mark is skipped. Errors name the source and the line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace fc::data {

struct CsvRecord {
  int line = 0;  // 1-based line on which the record starts
  std::vector<std::string> fields;
};

// Parses all records (blank lines skipped). `source` names the file in errors.
StatusOr<std::vector<CsvRecord>> ParseCsv(std::string_view text, const std::string& source);

// Quotes a field when it holds a comma, quote, CR or LF.
std::string CsvEscape(std::string_view field);

}  // namespace fc::data
