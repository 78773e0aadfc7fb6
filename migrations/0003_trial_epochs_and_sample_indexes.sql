-- Read models, second version (README, "Read models"): a trial's per-epoch metrics, and the
-- indexes behind the samples connection's filters and orders (core/projections/sample-pages.ts).

-- One row per epoch a training reported (TrainingProgressed with epoch >= 1). A heartbeat
-- repeats the last epoch with no metrics and never replaces a row that has some.
CREATE TABLE rm_trial_epochs (
  sample_id     TEXT    NOT NULL,
  attempt       INTEGER NOT NULL,
  epoch         INTEGER NOT NULL,
  experiment_id TEXT    NOT NULL,
  epochs        INTEGER NOT NULL,
  metrics       TEXT    NOT NULL,  -- JSON object: metric name → number
  at            TEXT    NOT NULL,
  PRIMARY KEY (sample_id, attempt, epoch)
) WITHOUT ROWID;

-- Orders: lowest reward first, and by completion time (ties and unfinished samples by index).
CREATE INDEX rm_samples_by_reward_asc ON rm_samples (experiment_id, reward, idx);
CREATE INDEX rm_samples_by_finished ON rm_samples (experiment_id, finished_at, idx);
-- Filters that can select few rows of a large experiment.
CREATE INDEX rm_samples_by_status ON rm_samples (experiment_id, status, idx);
CREATE INDEX rm_samples_by_cell ON rm_samples (experiment_id, cell_hash, idx);
CREATE INDEX rm_samples_by_policy ON rm_samples (experiment_id, policy_version, idx);

-- Rows projected before this version lack the new table's: project the log again from the
-- start (the projector does so on its next run, as after `nasnet replay`).
DELETE FROM rm_experiments;
DELETE FROM rm_samples;
DELETE FROM rm_trials;
DELETE FROM rm_policy_updates;
DELETE FROM rm_transfers;
DELETE FROM rm_best_cells;
DELETE FROM rm_checkpoints;
