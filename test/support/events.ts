import { createHash } from 'node:crypto';
import type { NasnetEvent, EventOfType } from '../../core/events/event.ts';
import { deterministicEventId } from '../../core/events/ids.ts';
import { eventMetadata } from '../../core/events/metadata.ts';
import type { Genotype } from '../../core/search-space/genotype.ts';
import { sampleId } from '../../core/events/streams.ts';

/** A valid genotype that varies with `seed`, so payloads look like real samples (~1 KB events). */
export function genotypeFor(seed: number): Genotype {
  const ops = ['sep_conv3x3', 'sep_conv5x5', 'avg_pool3x3', 'identity', 'max_pool3x3', 'sep_conv7x7'] as const;
  const cell = (offset: number) =>
    Array.from({ length: 5 }, (_, k) => [
      ops[(seed + offset + k) % ops.length]!,
      (seed + k) % (k + 2),
      ops[(seed * 7 + offset + k) % ops.length]!,
      (seed * 3 + k) % (k + 2),
      (seed + k) % 3 === 0 ? 'concat' : 'add',
    ]) as Genotype['normal'];
  return { normal: cell(0), reduction: cell(3) };
}

export function digestOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function architectureSampled(experimentId: string, index: number, writerId = 'test'): EventOfType<'ArchitectureSampled'> {
  return {
    id: deterministicEventId(experimentId, 'ArchitectureSampled', index),
    type: 'ArchitectureSampled',
    version: 1,
    data: {
      experimentId,
      sampleId: sampleId(experimentId, index),
      index,
      policyVersion: Math.floor(index / 20),
      actions: Array.from({ length: 50 }, (_, i) => (index * 31 + i * 7) % 13),
      logProb: -35.25 - (index % 10) / 8,
      entropy: 64.5,
      genotype: genotypeFor(index),
      cellHash: digestOf(`cell-${index}`).slice(0, 16),
    },
    metadata: eventMetadata(experimentId, writerId),
  };
}

export function trainingProgressed(
  experimentId: string,
  index: number,
  epoch: number,
  writerId = 'test',
): EventOfType<'TrainingProgressed'> {
  const sample = sampleId(experimentId, index);
  return {
    id: deterministicEventId(sample, 'TrainingProgressed', 1, epoch),
    type: 'TrainingProgressed',
    version: 1,
    data: { experimentId, sampleId: sample, attempt: 1, epoch, epochs: 20, metrics: { loss: 1 / (epoch + 1), accuracy: 0.5 } },
    metadata: eventMetadata(experimentId, writerId),
  };
}

export function experimentCreated(experimentId: string): EventOfType<'ExperimentCreated'> {
  return {
    id: deterministicEventId(experimentId, 'ExperimentCreated'),
    type: 'ExperimentCreated',
    version: 1,
    data: { experimentId, config: { strategy: 'ppo', samples: 100, batch: 20 }, seed: 7, codeVersion: '0.1.0' },
    metadata: eventMetadata(experimentId, 'test'),
  };
}

/** Strips what the store adds, to compare a read event with what was appended. */
export function asWritten(event: NasnetEvent & { stream?: string }): NasnetEvent {
  const { id, type, version, data, metadata } = event;
  return { id, type, version, data, metadata } as NasnetEvent;
}

/** One valid event of every type in the catalogue, for validation and round-trip tests. */
export function exampleOfEveryType(experimentId: string): NasnetEvent[] {
  const sample = sampleId(experimentId, 0);
  const meta = eventMetadata(experimentId, 'test');
  const genotype = genotypeFor(3);
  const result = {
    validationAccuracy: 0.91,
    testAccuracy: null,
    loss: 0.27,
    params: 3_300_000,
    multAdds: 564_000_000,
    seconds: 812.5,
    imagesPerSec: 1450,
    backend: 'wasm',
  };
  const events: Array<Omit<NasnetEvent, 'id' | 'version' | 'metadata'>> = [
    experimentCreated(experimentId),
    { type: 'ControllerInitialized', data: { experimentId, policyVersion: 0, strategy: 'ppo', paramsDigest: digestOf('p0') } },
    architectureSampled(experimentId, 0),
    {
      type: 'PolicyUpdated',
      data: {
        experimentId,
        policyVersion: 1,
        samples: [{ sampleId: sample, reward: 0.9 }],
        meanReward: 0.9,
        baselineBefore: null,
        baselineAfter: 0.9,
        stats: { loss: -0.01, approxKl: 0.001, clipFraction: 0.05, entropy: 64.1, epochs: 4 },
        paramsDigestBefore: digestOf('p0'),
        paramsDigestAfter: digestOf('p1'),
      },
    },
    {
      type: 'ExperimentCompleted',
      data: { experimentId, samples: 1, completed: 1, failed: 0, bestSampleId: sample, bestReward: 0.9 },
    },
    { type: 'ExperimentStopped', data: { experimentId, reason: 'SIGINT', samples: 1 } },
    { type: 'ExperimentResumed', data: { experimentId, samples: 1, writerId: 'host/42' } },
    {
      type: 'TrialClaimed',
      data: {
        experimentId,
        sampleId: sample,
        workerId: 'w1',
        plugin: 'tfjs',
        backend: 'wasm',
        leaseDeadline: '2026-11-28T01:00:00.000Z',
        attempt: 1,
      },
    },
    { type: 'TrialReleased', data: { experimentId, sampleId: sample, workerId: 'w1', attempt: 1, reason: 'SIGTERM' } },
    trainingProgressed(experimentId, 0, 1),
    { type: 'TrainingCompleted', data: { experimentId, sampleId: sample, attempt: 1, ...result } },
    {
      type: 'TrainingFailed',
      data: { experimentId, sampleId: sample, attempt: 2, reason: 'loss became NaN at epoch 3', retryable: false },
    },
    {
      type: 'RewardReported',
      data: { experimentId, sampleId: sample, reward: 0.91, source: 'trained', reusedFromSampleId: null },
    },
    {
      type: 'TransferRequested',
      data: {
        transferId: 't1',
        source: `${experimentId}#${sample}`,
        genotype,
        N: 6,
        F: 768,
        dataset: 'cifar10',
        config: { epochs: 600 },
      },
    },
    { type: 'TransferProgressed', data: { transferId: 't1', epoch: 1, epochs: 600, metrics: { loss: 2.1 } } },
    { type: 'TransferCompleted', data: { transferId: 't1', ...result } },
    { type: 'TransferFailed', data: { transferId: 't1', reason: 'out of memory', retryable: true } },
    {
      type: 'ControllerSnapshotted',
      data: {
        experimentId,
        policyVersion: 20,
        paramsDigest: 'a'.repeat(64),
        snapshot: { strategy: 'random', seed: 7, config: {}, policyVersion: 20, baseline: null },
      },
    },
  ];
  return events.map(
    (event, i) => ({ id: deterministicEventId(experimentId, 'example', i), version: 1, metadata: meta, ...event }) as NasnetEvent,
  );
}
