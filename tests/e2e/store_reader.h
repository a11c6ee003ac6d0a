// StoreReader: read-only SQL queries against a running fc-coordinator's SQLite database, so an
// end-to-end test can check the rows the coordinator stored (attempts, checkpoints, circuits)
// rather than only what its APIs choose to show. WAL mode lets this reader run beside the
// coordinator's writer; a busy timeout covers checkpoints of the WAL.
#pragma once

#include <map>
#include <string>
#include <vector>

struct sqlite3;

namespace fc::e2e {

// One result row: column name -> value as text ("" for NULL).
using Row = std::map<std::string, std::string>;

class StoreReader {
 public:
  explicit StoreReader(const std::string& db_path);
  ~StoreReader();
  StoreReader(const StoreReader&) = delete;
  StoreReader& operator=(const StoreReader&) = delete;

  // Runs `sql` with `args` bound as text to ?1, ?2, ... On any error returns no rows and sets
  // error() to a message naming the database and the statement.
  std::vector<Row> Query(const std::string& sql, const std::vector<std::string>& args = {});
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
  std::string error_;
};

}  // namespace fc::e2e
