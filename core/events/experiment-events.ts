import type { EventData } from './catalogue.ts';
import type { EventMetadata, EventOfType } from './event.ts';
import { deterministicEventId } from './ids.ts';
import { newEvent } from './new-event.ts';
import { sampleId } from './streams.ts';

/*
 * The events of an `experiment-<id>` stream, written by its controller (and ExperimentStopped
 * by whoever stops it). Ids are derived from what each event is (experiment, kind, index or
 * revision), so re-appending one after a crash stores it once.
 */

export function experimentCreated(
  data: EventData<'ExperimentCreated'>,
  metadata: EventMetadata,
): EventOfType<'ExperimentCreated'> {
  return newEvent('ExperimentCreated', deterministicEventId(data.experimentId, 'ExperimentCreated'), data, metadata);
}

/** What ControllerInitialized records of a strategy (a SearchStrategy is one). */
export interface InitialPolicy {
  readonly name: string;
  readonly policyVersion: number;
  digest(): string;
}

export function controllerInitialized(
  experimentId: string,
  strategy: InitialPolicy,
  metadata: EventMetadata,
): EventOfType<'ControllerInitialized'> {
  if (strategy.policyVersion !== 0)
    throw new RangeError(`a controller starts at policy version 0, not ${strategy.policyVersion}`);
  return newEvent(
    'ControllerInitialized',
    deterministicEventId(experimentId, 'ControllerInitialized'),
    { experimentId, policyVersion: 0, strategy: strategy.name, paramsDigest: strategy.digest() },
    metadata,
  );
}

/** A drawn architecture (a SampledArchitecture is one). */
export type DrawnArchitecture = Omit<EventData<'ArchitectureSampled'>, 'experimentId' | 'sampleId'>;

export function architectureSampled(
  experimentId: string,
  sample: DrawnArchitecture,
  metadata: EventMetadata,
): EventOfType<'ArchitectureSampled'> {
  // Field by field: whatever else the strategy keeps on a sample stays out of the log.
  return newEvent(
    'ArchitectureSampled',
    deterministicEventId(experimentId, 'ArchitectureSampled', sample.index),
    {
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
  );
}

/** What a policy update reports (a PolicyUpdate is one). */
export type PolicyUpdateRecord = Omit<EventData<'PolicyUpdated'>, 'experimentId' | 'samples'>;

export function policyUpdated(
  experimentId: string,
  update: PolicyUpdateRecord,
  samples: ReadonlyArray<{ sampleId: string; reward: number }>,
  metadata: EventMetadata,
): EventOfType<'PolicyUpdated'> {
  return newEvent(
    'PolicyUpdated',
    deterministicEventId(experimentId, 'PolicyUpdated', update.policyVersion),
    {
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
  );
}

export function experimentCompleted(
  data: EventData<'ExperimentCompleted'>,
  metadata: EventMetadata,
): EventOfType<'ExperimentCompleted'> {
  return newEvent('ExperimentCompleted', deterministicEventId(data.experimentId, 'ExperimentCompleted'), data, metadata);
}

/**
 * `revision` is the stream's revision the stop is appended after: a retried stop at the same
 * point (or the controller and a person stopping at once) appends it once.
 */
export function experimentStopped(
  data: EventData<'ExperimentStopped'>,
  revision: bigint,
  metadata: EventMetadata,
): EventOfType<'ExperimentStopped'> {
  return newEvent('ExperimentStopped', deterministicEventId(data.experimentId, 'ExperimentStopped', revision), data, metadata);
}

/** Like a stop, a resume is identified by the revision it is appended after: an experiment may be resumed many times. */
export function experimentResumed(
  data: EventData<'ExperimentResumed'>,
  revision: bigint,
  metadata: EventMetadata,
): EventOfType<'ExperimentResumed'> {
  return newEvent('ExperimentResumed', deterministicEventId(data.experimentId, 'ExperimentResumed', revision), data, metadata);
}

/** The controller's state after an update (a StrategySnapshot, which is JSON); one per experiment and version. */
export function controllerSnapshotted(
  data: EventData<'ControllerSnapshotted'>,
  metadata: EventMetadata,
): EventOfType<'ControllerSnapshotted'> {
  return newEvent(
    'ControllerSnapshotted',
    deterministicEventId(data.experimentId, 'ControllerSnapshotted', data.policyVersion),
    data,
    metadata,
  );
}
