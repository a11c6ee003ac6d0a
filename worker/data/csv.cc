#include "worker/data/csv.h"

namespace fc::data {

StatusOr<std::vector<CsvRecord>> ParseCsv(std::string_view text, const std::string& source) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<CsvRecord> records;
  size_t i = 0;
  int line = 1;
  const size_t n = text.size();
  while (i < n) {
    // Blank line (LF or CRLF) between records.
    if (text[i] == '\n' || (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')) {
      i += text[i] == '\r' ? 2 : 1;
      ++line;
      continue;
    }
    CsvRecord rec;
    rec.line = line;
    while (true) {  // one field per iteration
      std::string field;
      if (i < n && text[i] == '"') {
        const int open_line = line;
        ++i;
        while (true) {
          if (i >= n) {
            return InvalidArgumentError("{}:{}: unterminated quoted field (the quote opened on line {} is never closed)",
                                        source, open_line, open_line);
          }
          const char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field.push_back('"');
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (c == '\n') ++line;
          field.push_back(c);
          ++i;
        }
        if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          return InvalidArgumentError("{}:{}: unexpected character '{}' after a closing quote (expected ',' or end of line)",
                                      source, line, text[i]);
        }
      } else {
        while (i < n && text[i] != ',' && text[i] != '\n' && !(text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')) {
          if (text[i] == '"') {
            return InvalidArgumentError("{}:{}: quote inside an unquoted field (quote the whole field and double the quote)",
                                        source, line);
          }
          field.push_back(text[i++]);
        }
      }
      rec.fields.push_back(std::move(field));
      if (i < n && text[i] == ',') {
        ++i;
        continue;
      }
      // End of record: LF, CRLF or end of text.
      if (i < n) {
        i += (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') ? 2 : 1;
        ++line;
      }
      break;
    }
    records.push_back(std::move(rec));
  }
  return records;
}

std::string CsvEscape(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace fc::data
