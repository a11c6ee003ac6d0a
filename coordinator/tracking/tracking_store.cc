#include "coordinator/tracking/tracking_store.h"

#include <cstring>

#include <sqlite3.h>

#include "common/circuit/graph.h"

namespace fc::coord::tracking {
namespace {

using store::Connection;
using store::Stmt;

constexpr const char* kCheckpointColumns =
    "job_id, name, experiment_id, step, parent, path, method, loss, accuracy, attempt, reported_ms";
constexpr const char* kCircuitColumns =
    "id, experiment_id, job_id, step, checkpoint, n_nodes, n_edges, summary_json, created_ms";

CheckpointRow ReadCheckpoint(const Stmt& s) {
  CheckpointRow r;
  r.job_id = s.Text(0);
  r.name = s.Text(1);
  r.experiment_id = s.Text(2);
  r.step = s.Int(3);
  r.parent = s.Text(4);
  r.path = s.Text(5);
  r.method = s.Text(6);
  r.loss = s.Double(7);
  r.accuracy = s.Double(8);
  r.attempt = static_cast<int32_t>(s.Int(9));
  r.reported_ms = s.Int(10);
  return r;
}

CircuitRow ReadCircuit(const Stmt& s) {
  CircuitRow r;
  r.id = s.Text(0);
  r.experiment_id = s.Text(1);
  r.job_id = s.Text(2);
  r.step = s.Int(3);
  r.checkpoint = s.Text(4);
  r.n_nodes = s.Int(5);
  r.n_edges = s.Int(6);
  r.summary_json = s.Text(7);
  r.created_ms = s.Int(8);
  return r;
}

StatusOr<std::vector<CheckpointRow>> QueryCheckpoints(Connection& conn, const std::string& where,
                                                      const std::vector<std::string>& args) {
  FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(fmt::format("SELECT {} FROM checkpoints {} ORDER BY job_id, step, name",
                                                       kCheckpointColumns, where)));
  for (size_t i = 0; i < args.size(); ++i) s.Bind(static_cast<int>(i + 1), args[i]);
  std::vector<CheckpointRow> out;
  while (true) {
    FC_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(ReadCheckpoint(s));
  }
  return out;
}

// Splits "<job id>/<checkpoint name>" at its last '/'.
bool SplitRef(const std::string& ref, std::string* job, std::string* name) {
  size_t slash = ref.rfind('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == ref.size()) return false;
  *job = ref.substr(0, slash);
  *name = ref.substr(slash + 1);
  return true;
}

// RAII for a raw statement (blob binding is outside store::Stmt's API).
struct RawStmt {
  sqlite3_stmt* s = nullptr;
  ~RawStmt() { sqlite3_finalize(s); }
};

}  // namespace

Status ApplyTrackingWrites(Connection& conn, const TrackingWrites& w) {
  for (const CheckpointRow& c : w.checkpoints) {
    FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(fmt::format(
        "INSERT INTO checkpoints ({}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11) "
        "ON CONFLICT(job_id, name) DO UPDATE SET step=excluded.step, parent=excluded.parent, "
        "path=excluded.path, method=excluded.method, loss=excluded.loss, accuracy=excluded.accuracy, "
        "attempt=excluded.attempt, reported_ms=excluded.reported_ms", kCheckpointColumns)));
    s.Bind(1, c.job_id).Bind(2, c.name).Bind(3, c.experiment_id).Bind(4, c.step).Bind(5, c.parent)
        .Bind(6, c.path).Bind(7, c.method).Bind(8, c.loss).Bind(9, c.accuracy).Bind(10, c.attempt)
        .Bind(11, c.reported_ms);
    FC_RETURN_IF_ERROR(s.Run());
  }
  for (const MetricRow& m : w.metrics) {
    FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(
        "INSERT INTO metrics (job_id, name, step, value) VALUES (?1,?2,?3,?4) "
        "ON CONFLICT(job_id, name, step) DO UPDATE SET value=excluded.value"));
    s.Bind(1, m.job_id).Bind(2, m.name).Bind(3, m.step).Bind(4, m.value);
    FC_RETURN_IF_ERROR(s.Run());
  }
  for (const CircuitRow& c : w.circuits) {
    FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(fmt::format(
        "INSERT INTO circuits ({}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9) "
        "ON CONFLICT(id) DO UPDATE SET step=excluded.step, checkpoint=excluded.checkpoint, "
        "n_nodes=excluded.n_nodes, n_edges=excluded.n_edges, summary_json=excluded.summary_json, "
        "created_ms=excluded.created_ms", kCircuitColumns)));
    s.Bind(1, c.id).Bind(2, c.experiment_id).Bind(3, c.job_id).Bind(4, c.step).Bind(5, c.checkpoint)
        .Bind(6, c.n_nodes).Bind(7, c.n_edges).Bind(8, c.summary_json).Bind(9, c.created_ms);
    FC_RETURN_IF_ERROR(s.Run());
  }
  for (const CacheEntryRow& c : w.cache_entries) {
    FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(
        "INSERT INTO job_cache (key, job_id, engine_version, created_ms) VALUES (?1,?2,?3,?4) "
        "ON CONFLICT(key) DO UPDATE SET job_id=excluded.job_id, engine_version=excluded.engine_version, "
        "created_ms=excluded.created_ms"));
    s.Bind(1, c.key).Bind(2, c.job_id).Bind(3, c.engine_version).Bind(4, c.created_ms);
    FC_RETURN_IF_ERROR(s.Run());
  }
  return Status::OK();
}

StatusOr<std::vector<CacheEntryRow>> LoadCacheEntries(Connection& conn) {
  FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare("SELECT key, job_id, engine_version, created_ms FROM job_cache ORDER BY key"));
  std::vector<CacheEntryRow> out;
  while (true) {
    FC_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back({s.Text(0), s.Text(1), s.Text(2), s.Int(3)});
  }
  return out;
}

StatusOr<std::vector<CheckpointRow>> LoadCheckpoints(Connection& conn) {
  return QueryCheckpoints(conn, "", {});
}

StatusOr<std::vector<CheckpointRow>> ListCheckpoints(Connection& conn, const std::string& experiment_id,
                                                     const std::string& job_id) {
  if (!job_id.empty()) return QueryCheckpoints(conn, "WHERE job_id = ?1", {job_id});
  return QueryCheckpoints(conn, "WHERE experiment_id = ?1", {experiment_id});
}

StatusOr<std::optional<CheckpointRow>> GetCheckpoint(Connection& conn, const std::string& ref) {
  std::string job, name;
  if (!SplitRef(ref, &job, &name)) {
    return InvalidArgumentError("checkpoint '{}': expected <experiment>/<job>/<checkpoint name>", ref);
  }
  FC_ASSIGN_OR_RETURN(auto rows, QueryCheckpoints(conn, "WHERE job_id = ?1 AND name = ?2", {job, name}));
  if (rows.empty()) return std::optional<CheckpointRow>();
  return std::optional<CheckpointRow>(rows.front());
}

StatusOr<std::vector<CheckpointRow>> Lineage(Connection& conn, const std::string& ref) {
  FC_ASSIGN_OR_RETURN(auto first, GetCheckpoint(conn, ref));
  if (!first) return NotFoundError("checkpoint '{}' not found", ref);
  std::vector<CheckpointRow> chain{*first};
  // Parents are siblings in the same job; the loop is bounded by the job's checkpoint count.
  FC_ASSIGN_OR_RETURN(auto siblings, QueryCheckpoints(conn, "WHERE job_id = ?1", {first->job_id}));
  for (size_t guard = 0; guard <= siblings.size(); ++guard) {
    const std::string& parent = chain.back().parent;
    const CheckpointRow* next = nullptr;
    for (const CheckpointRow& s : siblings) {
      if (s.name == parent) next = &s;
    }
    if (!next) break;
    chain.push_back(*next);
  }
  return chain;
}

StatusOr<std::vector<MetricRow>> ListMetrics(Connection& conn, const std::string& job_id) {
  FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(
      "SELECT job_id, name, step, value FROM metrics WHERE job_id = ?1 ORDER BY name, step"));
  s.Bind(1, job_id);
  std::vector<MetricRow> out;
  while (true) {
    FC_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back({s.Text(0), s.Text(1), s.Int(2), s.Double(3)});
  }
  return out;
}

StatusOr<std::vector<CircuitRow>> ListCircuits(Connection& conn, const std::string& experiment_id) {
  FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(fmt::format(
      "SELECT {} FROM circuits WHERE experiment_id = ?1 ORDER BY step, id", kCircuitColumns)));
  s.Bind(1, experiment_id);
  std::vector<CircuitRow> out;
  while (true) {
    FC_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(ReadCircuit(s));
  }
  return out;
}

StatusOr<std::optional<CircuitRow>> GetCircuit(Connection& conn, const std::string& id) {
  FC_ASSIGN_OR_RETURN(Stmt s, conn.Prepare(fmt::format("SELECT {} FROM circuits WHERE id = ?1", kCircuitColumns)));
  s.Bind(1, id);
  FC_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<CircuitRow>();
  return std::optional<CircuitRow>(ReadCircuit(s));
}

Status PutCircuitScores(Connection& conn, const std::string& id, const circuit::Circuit& c) {
  const circuit::GraphConfig& cfg = c.cfg();
  circuit::GraphLayout g(cfg);
  const size_t dense = static_cast<size_t>(g.n_forward()) * g.n_backward();
  if (c.scores.data.size() != dense || c.edge_in.size() != dense ||
      c.node_in.size() != static_cast<size_t>(g.n_forward() + 1)) {
    return InvalidArgumentError("circuit '{}': scores/edge_in/node_in sizes {}/{}/{} do not match the graph ({} x {})",
                                id, c.scores.data.size(), c.edge_in.size(), c.node_in.size(), g.n_forward(),
                                g.n_backward());
  }
  const bool own_tx = !conn.InTransaction();
  if (own_tx) FC_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
  RawStmt st;
  int rc = sqlite3_prepare_v2(conn.raw(),
                              "INSERT OR REPLACE INTO circuit_scores (circuit_id, n_layers, n_heads, parallel, "
                              "scores, edge_in, node_in) VALUES (?1,?2,?3,?4,?5,?6,?7)",
                              -1, &st.s, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(st.s, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int(st.s, 2, cfg.n_layers);
    sqlite3_bind_int(st.s, 3, cfg.n_heads);
    sqlite3_bind_int(st.s, 4, cfg.parallel_attn_mlp ? 1 : 0);
    sqlite3_bind_blob64(st.s, 5, c.scores.data.data(), c.scores.data.size() * sizeof(float), SQLITE_STATIC);
    sqlite3_bind_blob64(st.s, 6, c.edge_in.data(), c.edge_in.size(), SQLITE_STATIC);
    sqlite3_bind_blob64(st.s, 7, c.node_in.data(), c.node_in.size(), SQLITE_STATIC);
    rc = sqlite3_step(st.s);
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
  }
  Status s = rc == SQLITE_OK ? Status::OK() : conn.ErrorStatus(rc, "INSERT circuit_scores");
  if (own_tx) {
    if (s.ok()) {
      s = conn.Exec("COMMIT");
    } else {
      (void)conn.Exec("ROLLBACK");
    }
  }
  return s;
}

StatusOr<circuit::Circuit> GetCircuitScores(Connection& conn, const std::string& id) {
  RawStmt st;
  int rc = sqlite3_prepare_v2(conn.raw(),
                              "SELECT n_layers, n_heads, parallel, scores, edge_in, node_in FROM circuit_scores "
                              "WHERE circuit_id = ?1",
                              -1, &st.s, nullptr);
  if (rc != SQLITE_OK) return conn.ErrorStatus(rc, "SELECT circuit_scores");
  sqlite3_bind_text(st.s, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
  rc = sqlite3_step(st.s);
  if (rc == SQLITE_DONE) return NotFoundError("circuit '{}' has no stored edge scores", id);
  if (rc != SQLITE_ROW) return conn.ErrorStatus(rc, "SELECT circuit_scores");
  circuit::GraphConfig cfg{sqlite3_column_int(st.s, 0), sqlite3_column_int(st.s, 1),
                           sqlite3_column_int(st.s, 2) != 0};
  circuit::GraphLayout g(cfg);
  const size_t dense = static_cast<size_t>(g.n_forward()) * g.n_backward();
  circuit::Circuit c;
  c.scores = circuit::EdgeScores(cfg);
  const size_t sb = static_cast<size_t>(sqlite3_column_bytes(st.s, 3));
  const size_t eb = static_cast<size_t>(sqlite3_column_bytes(st.s, 4));
  const size_t nb = static_cast<size_t>(sqlite3_column_bytes(st.s, 5));
  if (sb != dense * sizeof(float) || eb != dense || nb != static_cast<size_t>(g.n_forward() + 1)) {
    return DataLossError("circuit '{}': stored blobs have {}/{}/{} bytes, the graph needs {}/{}/{}", id, sb, eb, nb,
                         dense * sizeof(float), dense, g.n_forward() + 1);
  }
  std::memcpy(c.scores.data.data(), sqlite3_column_blob(st.s, 3), sb);
  const auto* e = static_cast<const uint8_t*>(sqlite3_column_blob(st.s, 4));
  const auto* n = static_cast<const uint8_t*>(sqlite3_column_blob(st.s, 5));
  c.edge_in.assign(e, e + eb);
  c.node_in.assign(n, n + nb);
  return c;
}

}  // namespace fc::coord::tracking
