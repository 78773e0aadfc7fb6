import type { EventMetadata, EventOfType } from '../events/event.ts';
import { deterministicEventId } from '../events/ids.ts';
import { sampleId } from '../events/streams.ts';
import type { PolicyUpdate, SampledArchitecture, SearchStrategy } from './strategy.ts';

/**
 * The controller's events, with ids derived from what they are (experiment, kind, index),
 * so re-appending one after a crash stores it once.
 */
export function controllerInitialized(
  experimentId: string,
  strategy: SearchStrategy,
  metadata: EventMetadata,
): EventOfType<'ControllerInitialized'> {
  if (strategy.policyVersion !== 0)
    throw new RangeError(`a controller starts at policy version 0, not ${strategy.policyVersion}`);
  return {
    id: deterministicEventId(experimentId, 'ControllerInitialized'),
    type: 'ControllerInitialized',
    version: 1,
    data: { experimentId, policyVersion: 0, strategy: strategy.name, paramsDigest: strategy.digest() },
    metadata,
  };
}

export function architectureSampled(
  experimentId: string,
  sample: SampledArchitecture,
  metadata: EventMetadata,
): EventOfType<'ArchitectureSampled'> {
  return {
    id: deterministicEventId(experimentId, 'ArchitectureSampled', sample.index),
    type: 'ArchitectureSampled',
    version: 1,
    data: {
      experimentId,
      sampleId: sampleId(experimentId, sample.index),
      index: sample.index,
      policyVersion: sample.policyVersion,
      actions: sample.actions,
      logProb: sample.logProb,
      entropy: sample.entropy,
      genotype: sample.genotype,
      cellHash: sample.cellHash,
    },
    metadata,
  };
}

export function policyUpdated(
  experimentId: string,
  update: PolicyUpdate,
  samples: ReadonlyArray<{ sampleId: string; reward: number }>,
  metadata: EventMetadata,
): EventOfType<'PolicyUpdated'> {
  return {
    id: deterministicEventId(experimentId, 'PolicyUpdated', update.policyVersion),
    type: 'PolicyUpdated',
    version: 1,
    data: {
      experimentId,
      policyVersion: update.policyVersion,
      samples: samples.map(({ sampleId: id, reward }) => ({ sampleId: id, reward })),
      meanReward: update.meanReward,
      baselineBefore: update.baselineBefore,
      baselineAfter: update.baselineAfter,
      stats: update.stats,
      paramsDigestBefore: update.paramsDigestBefore,
      paramsDigestAfter: update.paramsDigestAfter,
    },
    metadata,
  };
}
