-- The reward curve (core/projections/reward-curve.ts) reads every rewarded sample of an
-- experiment; this partial index holds what it needs, so the read never touches the wide rows.
CREATE INDEX rm_samples_curve ON rm_samples (experiment_id, idx, reward, reward_source, sample_id) WHERE reward IS NOT NULL;
