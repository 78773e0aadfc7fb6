-- Read models (README, "Read models"): tables rebuilt from the event log by core/projections/.
-- Nothing but the projector writes them; `nasnet replay` empties them and projects again.
-- When the store is SQLite they share its file, so the log and these rows sit side by side,
-- but no table here refers to `events`: a separate read-model file works the same.
-- Times are the events' metadata timestamps (ISO-8601 text), never the projector's clock,
-- so a replay rebuilds the same rows byte for byte.

CREATE TABLE rm_experiments (
  id              TEXT    PRIMARY KEY,
  status          TEXT    NOT NULL CHECK (status IN ('created', 'running', 'completed', 'stopped')),
  created_at      TEXT    NOT NULL,
  config          TEXT    NOT NULL,  -- ExperimentCreated.config as JSON
  seed            INTEGER NOT NULL,
  strategy        TEXT,
  trainer         TEXT,
  dataset         TEXT,
  sample_count    INTEGER NOT NULL DEFAULT 0,
  completed_count INTEGER NOT NULL DEFAULT 0,  -- rewards from training or reuse
  failed_count    INTEGER NOT NULL DEFAULT 0,  -- failure rewards
  best_reward     REAL,
  best_sample_id  TEXT,
  policy_version  INTEGER,
  updated_at      TEXT    NOT NULL
) WITHOUT ROWID;

-- Rows carry ~1 KB of JSON (genotype, actions), too wide for WITHOUT ROWID.
CREATE TABLE rm_samples (
  sample_id      TEXT    PRIMARY KEY,
  experiment_id  TEXT    NOT NULL,
  idx            INTEGER NOT NULL,
  policy_version INTEGER NOT NULL,
  cell_hash      TEXT    NOT NULL,
  genotype       TEXT    NOT NULL,
  actions        TEXT    NOT NULL,
  log_prob       REAL    NOT NULL,
  entropy        REAL    NOT NULL,
  status         TEXT    NOT NULL CHECK (status IN ('sampled', 'claimed', 'training', 'completed', 'failed', 'reused')),
  reward         REAL,
  reward_source  TEXT    CHECK (reward_source IN ('trained', 'reused', 'failure')),
  reused_from    TEXT,
  sampled_at     TEXT    NOT NULL,
  finished_at    TEXT
);
-- Keyset pagination in index order, and in reward order (NULL rewards sort last under DESC).
CREATE UNIQUE INDEX rm_samples_by_index ON rm_samples (experiment_id, idx);
CREATE INDEX rm_samples_by_reward ON rm_samples (experiment_id, reward DESC, idx);

-- One row per claim attempt of a trial. Rows may appear without a claim (a failure written
-- for an attempt nobody claimed), so everything but the key and status is nullable.
CREATE TABLE rm_trials (
  sample_id           TEXT    NOT NULL,
  attempt             INTEGER NOT NULL,
  experiment_id       TEXT    NOT NULL,
  worker_id           TEXT,
  plugin              TEXT,
  backend             TEXT,
  status              TEXT    NOT NULL CHECK (status IN ('claimed', 'training', 'completed', 'failed', 'released')),
  lease_deadline      TEXT,
  validation_accuracy REAL,
  test_accuracy       REAL,
  loss                REAL,
  params              INTEGER,
  mult_adds           INTEGER,
  seconds             REAL,
  images_per_sec      REAL,
  error               TEXT,
  retryable           INTEGER,  -- 0/1, set by TrainingFailed
  claimed_at          TEXT,
  finished_at         TEXT,
  last_epoch          INTEGER,
  epochs              INTEGER,
  PRIMARY KEY (sample_id, attempt)
) WITHOUT ROWID;

CREATE TABLE rm_policy_updates (
  experiment_id       TEXT    NOT NULL,
  version             INTEGER NOT NULL,
  sample_ids          TEXT    NOT NULL,  -- JSON array, in the update's order
  rewards             TEXT    NOT NULL,  -- JSON array, parallel to sample_ids
  mean_reward         REAL    NOT NULL,
  baseline_before     REAL,
  baseline_after      REAL,
  loss                REAL,              -- PPO statistics: NULL for strategies without them
  approx_kl           REAL,
  clip_fraction       REAL,
  entropy             REAL,
  epochs              INTEGER,
  params_digest_before TEXT   NOT NULL,
  params_digest_after  TEXT   NOT NULL,
  position            TEXT    NOT NULL,  -- the PolicyUpdated event's global position, in decimal
  at                  TEXT    NOT NULL,
  PRIMARY KEY (experiment_id, version)
);

CREATE TABLE rm_transfers (
  transfer_id         TEXT    PRIMARY KEY,
  source              TEXT    NOT NULL,
  genotype            TEXT    NOT NULL,
  n                   INTEGER NOT NULL,
  f                   INTEGER NOT NULL,
  dataset             TEXT    NOT NULL,
  config              TEXT    NOT NULL,
  status              TEXT    NOT NULL CHECK (status IN ('requested', 'training', 'completed', 'failed')),
  last_epoch          INTEGER,
  epochs              INTEGER,
  validation_accuracy REAL,
  test_accuracy       REAL,
  loss                REAL,
  params              INTEGER,
  mult_adds           INTEGER,
  seconds             REAL,
  images_per_sec      REAL,
  backend             TEXT,
  error               TEXT,
  retryable           INTEGER,
  requested_at        TEXT    NOT NULL,
  finished_at         TEXT
);

-- Per experiment, the best-rewarded sample of each distinct cell (canonical hash): highest
-- reward, ties to the lowest index. Kept by the projector so "top k cells" reads k index
-- entries instead of grouping every sample. Failure rewards never enter it.
CREATE TABLE rm_best_cells (
  experiment_id TEXT    NOT NULL,
  cell_hash     TEXT    NOT NULL,
  sample_id     TEXT    NOT NULL,
  reward        REAL    NOT NULL,
  idx           INTEGER NOT NULL,
  PRIMARY KEY (experiment_id, cell_hash)
) WITHOUT ROWID;
CREATE INDEX rm_best_cells_by_reward ON rm_best_cells (experiment_id, reward DESC, idx);

-- The last global position whose event is reflected in the rows above, per projection;
-- written in the same transaction as the rows. Positions are decimal text: EventStoreDB's
-- are 128-bit (core/store/esdb/position.ts), and an INTEGER column would round them to REAL.
-- They are compared as bigints in code, never in SQL.
CREATE TABLE rm_checkpoints (
  projection TEXT PRIMARY KEY,
  position   TEXT NOT NULL
) WITHOUT ROWID;
