#include "coordinator/store/migrations.h"

#include <cstdio>

namespace fc::coord::store {

int LatestSchemaVersion(const std::vector<Migration>& migrations) {
  return migrations.empty() ? 0 : migrations.back().version;
}

StatusOr<int> SchemaVersion(Connection& conn) {
  FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare("PRAGMA user_version"));
  FC_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? static_cast<int>(s.Int(0)) : 0;
}

Status Migrate(Connection& conn, const std::vector<Migration>& migrations) {
  FC_ASSIGN_OR_RETURN(int current, SchemaVersion(conn));
  const int latest = LatestSchemaVersion(migrations);
  if (current > latest) {
    return FailedPreconditionError(
        "database '{}' has schema version {}, newer than this binary's {}: upgrade "
        "fc-coordinator (the database was not changed)",
        conn.path(), current, latest);
  }
  if (current == latest) return Status::OK();
  {
    FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare("PRAGMA application_id"));
    FC_ASSIGN_OR_RETURN(bool row, s.Step());
    int64_t app = row ? s.Int(0) : 0;
    if (app != 0 && app != kApplicationId) {
      return FailedPreconditionError("database '{}' is not a FinetuneCircuits store (application_id {})",
                                     conn.path(), app);
    }
  }
  if (current > 0) {
    std::string backup = fmt::format("{}.v{}.bak", conn.path(), current);
    std::remove(backup.c_str());
    std::string quoted;
    for (char c : backup) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    FC_RETURN_IF_ERROR(conn.Exec(fmt::format("VACUUM INTO '{}'", quoted)));
  }
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    FC_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
    Status s = conn.Exec(m.sql);
    if (s.ok()) s = conn.Exec(fmt::format("PRAGMA application_id={}; PRAGMA user_version={}", kApplicationId, m.version));
    if (s.ok()) s = conn.Exec("COMMIT");
    if (!s.ok()) {
      (void)conn.Exec("ROLLBACK");
      return s.WithContext(fmt::format("migration {} ({})", m.version, m.name));
    }
  }
  return Status::OK();
}

}  // namespace fc::coord::store
