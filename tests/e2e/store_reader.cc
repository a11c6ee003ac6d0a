#include "tests/e2e/store_reader.h"

#include <sqlite3.h>

namespace fc::e2e {

StoreReader::StoreReader(const std::string& db_path) : path_(db_path) {
  if (sqlite3_open_v2(db_path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    error_ = path_ + ": cannot open: " + (db_ ? sqlite3_errmsg(db_) : "out of memory");
    return;
  }
  sqlite3_busy_timeout(db_, 5000);
}

StoreReader::~StoreReader() {
  if (db_) sqlite3_close(db_);
}

std::vector<Row> StoreReader::Query(const std::string& sql, const std::vector<std::string>& args) {
  std::vector<Row> rows;
  if (!db_) return rows;
  error_.clear();
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    error_ = path_ + ": '" + sql + "': " + sqlite3_errmsg(db_);
    return rows;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    sqlite3_bind_text(st, static_cast<int>(i + 1), args[i].c_str(), -1, SQLITE_TRANSIENT);
  }
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    Row r;
    for (int c = 0; c < sqlite3_column_count(st); ++c) {
      const unsigned char* v = sqlite3_column_text(st, c);
      r[sqlite3_column_name(st, c)] = v ? reinterpret_cast<const char*>(v) : "";
    }
    rows.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) {
    error_ = path_ + ": '" + sql + "': " + sqlite3_errmsg(db_);
    rows.clear();
  }
  sqlite3_finalize(st);
  return rows;
}

}  // namespace fc::e2e
