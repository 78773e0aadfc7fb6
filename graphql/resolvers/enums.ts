import {
  EXPERIMENT_STATUSES,
  REWARD_SOURCES,
  SAMPLE_STATUSES,
  TRANSFER_STATUSES,
  TRIAL_STATUSES,
} from '../../core/projections/read-model-tables.ts';

// The schema's enum values are the upper-case spellings of the read models' lower-case ones.
const lower = <T extends string>(values: readonly T[]): Record<Uppercase<T>, T> =>
  Object.fromEntries(values.map((value) => [value.toUpperCase(), value])) as Record<Uppercase<T>, T>;

export const enumResolvers = {
  ExperimentStatus: lower(EXPERIMENT_STATUSES),
  SampleStatus: lower(SAMPLE_STATUSES),
  TrialStatus: lower(TRIAL_STATUSES),
  TransferStatus: lower(TRANSFER_STATUSES),
  RewardSource: lower(REWARD_SOURCES),
};
