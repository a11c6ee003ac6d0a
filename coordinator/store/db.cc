#include "coordinator/store/db.h"

#include <sqlite3.h>

namespace fc::coord::store {

StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;  // one thread per connection
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return UnavailableError("cannot open database '{}': {}", path, msg);
  }
  std::unique_ptr<Connection> conn(new Connection(db, path));
  sqlite3_extended_result_codes(db, 1);
  FC_RETURN_IF_ERROR(conn->Exec("PRAGMA busy_timeout=5000"));
  if (!read_only) FC_RETURN_IF_ERROR(conn->Exec("PRAGMA journal_mode=WAL"));
  FC_RETURN_IF_ERROR(conn->Exec("PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL"));
  if (read_only) FC_RETURN_IF_ERROR(conn->Exec("PRAGMA query_only=1"));
  return conn;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  // A transaction left open (a bug or a failed group) is rolled back, never committed.
  if (db_ && !sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db_);
}

Status Connection::ErrorStatus(int rc, std::string_view what) const {
  std::string msg = fmt::format("sqlite: {}: {} ({})", what, sqlite3_errmsg(db_), rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Status(StatusCode::kUnavailable, msg);
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FULL: return Status(StatusCode::kDataLoss, msg);
    case SQLITE_CONSTRAINT: return Status(StatusCode::kFailedPrecondition, msg);
    default: return Status(StatusCode::kInternal, msg);
  }
}

Status Connection::Exec(std::string_view sql) {
  char* err = nullptr;
  std::string text(sql);
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (err) sqlite3_free(err);
  if (rc != SQLITE_OK) return ErrorStatus(rc, text.substr(0, 120));
  return Status::OK();
}

StatusOr<Stmt> Connection::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return ErrorStatus(rc, "prepare " + sql.substr(0, 120));
    it = cache_.emplace(sql, stmt).first;
  }
  return Stmt(this, it->second);
}

int64_t Connection::LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }
int Connection::Changes() const { return sqlite3_changes(db_); }
bool Connection::InTransaction() const { return !sqlite3_get_autocommit(db_); }

Stmt::~Stmt() {
  if (stmt_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Stmt& Stmt::Bind(int i, int64_t v) {
  int rc = sqlite3_bind_int64(stmt_, i, v);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = conn_->ErrorStatus(rc, "bind");
  return *this;
}
Stmt& Stmt::Bind(int i, double v) {
  int rc = sqlite3_bind_double(stmt_, i, v);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = conn_->ErrorStatus(rc, "bind");
  return *this;
}
Stmt& Stmt::Bind(int i, std::string_view v) {
  int rc = sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = conn_->ErrorStatus(rc, "bind");
  return *this;
}

StatusOr<bool> Stmt::Step() {
  if (!bind_error_.ok()) return bind_error_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return conn_->ErrorStatus(rc, std::string("step ") + sqlite3_sql(stmt_));
}

Status Stmt::Run() {
  while (true) {
    FC_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::OK();
  }
}

int64_t Stmt::Int(int col) const { return sqlite3_column_int64(stmt_, col); }
double Stmt::Double(int col) const { return sqlite3_column_double(stmt_, col); }
std::string Stmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
}

}  // namespace fc::coord::store
