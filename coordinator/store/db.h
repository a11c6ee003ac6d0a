// Thin RAII layer over SQLite: a Connection owns one sqlite3 handle and its prepared statements
// (prepared once, cached by SQL text); a Stmt borrows a cached statement and resets and clears
// its bindings on every path out of scope, so no statement is left mid-step.
//
// Thread safety: a Connection is used by one thread at a time (the store gives each thread its
// own). Errors come back as fc::Status naming the SQL and SQLite's message; SQLITE_BUSY after
// busy_timeout is UNAVAILABLE, I/O and corruption errors are DATA_LOSS / INTERNAL.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace fc::coord::store {

class Stmt;

class Connection {
 public:
  // Opens (creating when !read_only) `path` with WAL, foreign_keys=ON, busy_timeout=5000,
  // synchronous=FULL; read-only connections add query_only=1.
  static StatusOr<std::unique_ptr<Connection>> Open(const std::string& path, bool read_only);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements without results.
  Status Exec(std::string_view sql);
  // A cached prepared statement for `sql` (prepared on first use).
  StatusOr<Stmt> Prepare(const std::string& sql);
  int64_t LastInsertRowid() const;
  int Changes() const;
  bool InTransaction() const;
  const std::string& path() const { return path_; }
  sqlite3* raw() { return db_; }
  Status ErrorStatus(int rc, std::string_view what) const;

 private:
  Connection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
  std::map<std::string, sqlite3_stmt*> cache_;
};

// One use of a prepared statement. Bind indices are 1-based, column indices 0-based.
class Stmt {
 public:
  Stmt(Connection* conn, sqlite3_stmt* stmt) : conn_(conn), stmt_(stmt) {}
  Stmt(Stmt&& o) noexcept : conn_(o.conn_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt();

  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, bool v) { return Bind(i, static_cast<int64_t>(v ? 1 : 0)); }
  Stmt& Bind(int i, double v);
  Stmt& Bind(int i, std::string_view v);
  Stmt& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }

  // true = a row is available, false = done.
  StatusOr<bool> Step();
  // Steps to completion, expecting no rows.
  Status Run();

  int64_t Int(int col) const;
  double Double(int col) const;
  std::string Text(int col) const;

 private:
  Connection* conn_;
  sqlite3_stmt* stmt_;
  Status bind_error_;
};

}  // namespace fc::coord::store
