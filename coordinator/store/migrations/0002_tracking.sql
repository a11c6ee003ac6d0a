-- 0002: experiment tracking (docs/tracking.md): checkpoint lineage, per-step metrics and
-- circuits with all their edge scores.

-- One row per checkpoint a finetune job reported (progress metrics_json "checkpoint").
-- parent is the previous checkpoint's name ("base" for the first); path/uri where it lies.
CREATE TABLE checkpoints (
  job_id        TEXT NOT NULL REFERENCES jobs(id),
  name          TEXT NOT NULL,            -- "checkpoint-25"
  experiment_id TEXT NOT NULL,
  step          INTEGER NOT NULL,
  parent        TEXT NOT NULL,
  path          TEXT NOT NULL,
  method        TEXT NOT NULL,
  loss          REAL NOT NULL,
  accuracy      REAL NOT NULL,
  attempt       INTEGER NOT NULL,         -- the attempt that reported it
  reported_ms   INTEGER NOT NULL,
  PRIMARY KEY (job_id, name)
) STRICT;
CREATE INDEX checkpoints_by_experiment ON checkpoints(experiment_id, job_id, step);

-- Numeric time series of a job (loss per step, ...).
CREATE TABLE metrics (
  job_id TEXT NOT NULL REFERENCES jobs(id),
  name   TEXT NOT NULL,
  step   INTEGER NOT NULL,
  value  REAL NOT NULL,
  PRIMARY KEY (job_id, name, step)
) STRICT, WITHOUT ROWID;

-- A discovered circuit: the summary of a discover job (or one imported file).
-- step = the checkpoint step it was extracted at (-1 = not a tracked checkpoint).
CREATE TABLE circuits (
  id            TEXT PRIMARY KEY,         -- the producing job id, or "import/<name>"
  experiment_id TEXT NOT NULL,
  job_id        TEXT NOT NULL,
  step          INTEGER NOT NULL,
  checkpoint    TEXT NOT NULL,            -- "<finetune job id>/checkpoint-<step>" or ""
  n_nodes       INTEGER NOT NULL,
  n_edges       INTEGER NOT NULL,
  summary_json  TEXT NOT NULL,
  created_ms    INTEGER NOT NULL
) STRICT;
CREATE INDEX circuits_by_experiment ON circuits(experiment_id, step);

-- Every edge score of a circuit's graph (dense float32 [n_forward x n_backward] little endian)
-- and the in-circuit edge and node masks (one byte each); one row per circuit so a 231k-edge graph is one
-- write and a diff is two reads.
CREATE TABLE circuit_scores (
  circuit_id  TEXT PRIMARY KEY REFERENCES circuits(id),
  n_layers    INTEGER NOT NULL,
  n_heads     INTEGER NOT NULL,
  parallel    INTEGER NOT NULL,
  scores      BLOB NOT NULL,
  edge_in     BLOB NOT NULL,
  node_in     BLOB NOT NULL
) STRICT;
