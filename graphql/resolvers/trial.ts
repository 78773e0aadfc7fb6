import type { Trial } from '../../core/projections/queries.ts';

export const trialResolvers = {
  id: (trial: Trial) => `${trial.sampleId}#${trial.attempt}`,
  worker: (trial: Trial) => trial.workerId,
};
