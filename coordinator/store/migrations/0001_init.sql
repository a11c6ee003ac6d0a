-- 0001: the coordinator's core tables. Every table is STRICT; ids are opaque text.
CREATE TABLE experiments (
  id              TEXT PRIMARY KEY,
  name            TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  spec_hash       TEXT NOT NULL,
  spec_yaml       TEXT NOT NULL,
  canonical_json  TEXT NOT NULL,
  state           INTEGER NOT NULL,
  created_ms      INTEGER NOT NULL,
  finished_ms     INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX experiments_by_name ON experiments(name, id);

CREATE TABLE jobs (
  id               TEXT PRIMARY KEY,            -- "<experiment_id>/<name>"
  experiment_id    TEXT NOT NULL REFERENCES experiments(id),
  name             TEXT NOT NULL,
  kind             TEXT NOT NULL,
  state            INTEGER NOT NULL,
  attempt          INTEGER NOT NULL DEFAULT 0,
  lease_epoch      INTEGER NOT NULL DEFAULT 0,  -- bumped at every lease grant: the fence
  max_retries      INTEGER NOT NULL,
  priority         INTEGER NOT NULL,
  seq              INTEGER NOT NULL,            -- FIFO order among equal priorities
  params_json      TEXT NOT NULL,
  gpus             INTEGER NOT NULL,
  gpu_memory_mb    INTEGER NOT NULL,
  labels_json      TEXT NOT NULL,
  cache            INTEGER NOT NULL,
  worker_id        TEXT NOT NULL DEFAULT '',
  error            TEXT NOT NULL DEFAULT '',
  permanent        INTEGER NOT NULL DEFAULT 0,
  progress         REAL NOT NULL DEFAULT 0,
  progress_message TEXT NOT NULL DEFAULT '',
  result_json      TEXT NOT NULL DEFAULT '',
  created_ms       INTEGER NOT NULL,
  started_ms       INTEGER NOT NULL DEFAULT 0,
  finished_ms      INTEGER NOT NULL DEFAULT 0,
  not_before_ms    INTEGER NOT NULL DEFAULT 0,
  UNIQUE (experiment_id, name)
) STRICT;
CREATE INDEX jobs_by_state ON jobs(state, id);
CREATE INDEX jobs_by_kind ON jobs(kind, id);
CREATE INDEX jobs_by_worker ON jobs(worker_id, id);

CREATE TABLE deps (
  job_id     TEXT NOT NULL REFERENCES jobs(id),
  depends_on TEXT NOT NULL REFERENCES jobs(id),
  PRIMARY KEY (job_id, depends_on)
) STRICT, WITHOUT ROWID;

CREATE TABLE attempts (
  job_id      TEXT NOT NULL REFERENCES jobs(id),
  attempt     INTEGER NOT NULL,
  lease_epoch INTEGER NOT NULL,
  worker_id   TEXT NOT NULL,
  leased_ms   INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL DEFAULT 0,
  outcome     TEXT NOT NULL DEFAULT '',
  error       TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (job_id, lease_epoch)
) STRICT;

CREATE TABLE workers (
  id             TEXT PRIMARY KEY,
  name           TEXT NOT NULL UNIQUE,
  device         TEXT NOT NULL,
  slots          INTEGER NOT NULL,
  gpus           INTEGER NOT NULL,
  gpu_memory_mb  INTEGER NOT NULL,
  labels_json    TEXT NOT NULL,
  kinds_json     TEXT NOT NULL,
  engine_version TEXT NOT NULL,
  draining       INTEGER NOT NULL DEFAULT 0,
  cordoned       INTEGER NOT NULL DEFAULT 0,
  registered_ms  INTEGER NOT NULL
) STRICT;

-- The durable event log; seq is the Watch cursor.
CREATE TABLE events (
  seq           INTEGER PRIMARY KEY,
  unix_ms       INTEGER NOT NULL,
  experiment_id TEXT NOT NULL,
  job_id        TEXT NOT NULL,
  type          TEXT NOT NULL,
  job_state     INTEGER NOT NULL,
  message       TEXT NOT NULL,
  progress      REAL NOT NULL
) STRICT;
CREATE INDEX events_by_experiment ON events(experiment_id, seq);

-- Outputs of a job's successful attempt (content-addressed when sha256 is set).
CREATE TABLE artifacts (
  job_id  TEXT NOT NULL REFERENCES jobs(id),
  name    TEXT NOT NULL,
  sha256  TEXT NOT NULL,
  size    INTEGER NOT NULL,
  kind    TEXT NOT NULL,
  uri     TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  PRIMARY KEY (job_id, name)
) STRICT;
CREATE INDEX artifacts_by_sha ON artifacts(sha256);
