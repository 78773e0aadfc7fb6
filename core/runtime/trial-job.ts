import { filtersNearPenultimate } from '../search-space/genotype.ts';
import type { ExperimentState } from './experiment-state.ts';
import type { SearchConfig } from './search-config.ts';
import type { TrainingJob } from './trainer-plugin.ts';

/** What a plugin is asked to train for one attempt at a sample: all of it follows from the log. */
export function trainingJob(state: ExperimentState, config: SearchConfig, index: number, attempt: number): TrainingJob {
  const sample = state.samples.get(index);
  if (!sample) throw new RangeError(`experiment ${state.experimentId} has no sample ${index}`);
  return {
    experimentId: state.experimentId,
    sampleId: sample.sampleId,
    attempt,
    genotype: sample.genotype,
    network: {
      N: config.network.N,
      filters: 'filters' in config.network ? config.network.filters : filtersNearPenultimate(sample.genotype, config.network.F),
    },
    dataset: config.dataset,
    epochs: config.epochs,
    seed: trialSeed(state.seed, index),
    dataSeed: state.seed,
    settings: config.training,
  };
}

/** A child network's seed: the experiment's seed and the sample's index, nothing that depends on timing. */
export function trialSeed(experimentSeed: number, index: number): number {
  return (Math.imul(experimentSeed | 0, 1_000_003) + index * 7919) & 0x7fffffff;
}
