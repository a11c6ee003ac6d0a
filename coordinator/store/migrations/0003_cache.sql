-- 0003: job output caching (docs/tracking.md "Caching"). A job whose kind, canonical params,
-- input artifacts and engine version match a SUCCEEDED job reuses its outputs (cached = 1).
ALTER TABLE jobs ADD COLUMN cached INTEGER NOT NULL DEFAULT 0;

CREATE TABLE job_cache (
  key            TEXT PRIMARY KEY,          -- sha256 of kind, params and input artifacts
  job_id         TEXT NOT NULL REFERENCES jobs(id),
  engine_version TEXT NOT NULL,             -- of the worker that produced the outputs
  created_ms     INTEGER NOT NULL
) STRICT;
