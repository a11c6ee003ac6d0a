// Versioned schema migrations, embedded in the binary from store/migrations/NNNN_name.sql.
// The schema version lives in PRAGMA user_version. Migrate() applies every migration newer than
// the file, each in one transaction together with its version bump; before changing an existing
// database it writes a backup with VACUUM INTO "<db>.v<old>.bak". A database whose version is
// newer than this binary's is refused (FAILED_PRECONDITION naming both versions) and untouched.
#pragma once

#include <vector>

#include "common/status.h"
#include "coordinator/store/db.h"

namespace fc::coord::store {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// Marks a file as ours ("FCRD").
inline constexpr int kApplicationId = 0x46435244;

const std::vector<Migration>& EmbeddedMigrations();  // generated, sorted by version
int LatestSchemaVersion(const std::vector<Migration>& migrations = EmbeddedMigrations());

StatusOr<int> SchemaVersion(Connection& conn);
Status Migrate(Connection& conn, const std::vector<Migration>& migrations = EmbeddedMigrations());

}  // namespace fc::coord::store
