import Type, { type Static, type TSchema } from 'typebox';
import { genotypeSchema } from '../search-space/genotype.ts';
import type { JsonObject } from './json.ts';

/**
 * Every event nasnet writes, one schema per type, keyed by the type name. The schemas are
 * plain JSON Schema (TypeBox), compiled once into validators; they validate `data` of the
 * *current* schema version. Older stored versions are brought up to date by upcasters
 * (see upcast.ts) before anyone reads them.
 *
 * Streams (README, "Events"):
 * - `experiment-<id>`: written only by the controller, in order.
 * - `trial-<sampleId>`: the life of one child training.
 * - `transfer-<id>`: final training of a chosen cell at a larger N @ F.
 * - `snapshot-<experimentId>`: the controller's full state every few policy updates.
 */

const id = Type.String({ minLength: 1, maxLength: 200 });
const text = Type.String({ minLength: 1 });
const count = Type.Integer({ minimum: 0 });
const positive = Type.Integer({ minimum: 1 });
const finite = Type.Number();
const probability = Type.Number({ minimum: 0, maximum: 1 });
const digest = Type.String({ pattern: '^[0-9a-f]{64}$' });
const isoTime = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$' });
/** Free-form JSON; that it is JSON at all is checked by findJsonProblem. */
const jsonObject = Type.Unsafe<JsonObject>(Type.Record(Type.String(), Type.Unknown()));
const metrics = Type.Record(Type.String(), finite);
const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const strict = <P extends Parameters<typeof Type.Object>[0]>(properties: P) =>
  Type.Object(properties, { additionalProperties: false });

// ---- experiment-<experimentId> ----------------------------------------------------------

const ExperimentCreated = strict({
  experimentId: id,
  /** Full experiment configuration (strategy, trainer, dataset, budget, ...), as resolved at creation. */
  config: jsonObject,
  seed: Type.Integer(),
  codeVersion: text,
});

const ControllerInitialized = strict({
  experimentId: id,
  policyVersion: Type.Literal(0),
  strategy: text,
  paramsDigest: digest,
});

const ArchitectureSampled = strict({
  experimentId: id,
  sampleId: id,
  index: count,
  policyVersion: count,
  /** The controller's 50 decisions, in order (normal cell then reduction cell). */
  actions: Type.Array(count),
  logProb: finite,
  entropy: finite,
  genotype: genotypeSchema,
  /** Canonical hash: cells that compute the same function hash the same. */
  cellHash: text,
});

const PolicyUpdated = strict({
  experimentId: id,
  /** The policy version this update produced (the previous one is `policyVersion - 1`). */
  policyVersion: positive,
  samples: Type.Array(strict({ sampleId: id, reward: finite }), { minItems: 1 }),
  meanReward: finite,
  baselineBefore: nullable(finite),
  baselineAfter: nullable(finite),
  /** PPO statistics; null for strategies that have none (random search). */
  stats: nullable(
    strict({
      loss: finite,
      approxKl: finite,
      clipFraction: probability,
      entropy: finite,
      epochs: count,
    }),
  ),
  paramsDigestBefore: digest,
  paramsDigestAfter: digest,
});

const ExperimentCompleted = strict({
  experimentId: id,
  samples: count,
  completed: count,
  failed: count,
  bestSampleId: nullable(id),
  bestReward: nullable(finite),
});

const ExperimentStopped = strict({
  experimentId: id,
  reason: text,
  samples: count,
});

/** A stopped experiment continues (`nasnet resume`); the samples drawn so far stay as they are. */
const ExperimentResumed = strict({
  experimentId: id,
  samples: count,
  writerId: id,
});

// ---- trial-<sampleId> -------------------------------------------------------------------

const TrialClaimed = strict({
  experimentId: id,
  sampleId: id,
  workerId: id,
  plugin: text,
  backend: text,
  leaseDeadline: isoTime,
  attempt: positive,
});

const TrialReleased = strict({
  experimentId: id,
  sampleId: id,
  workerId: id,
  attempt: positive,
  reason: text,
});

const TrainingProgressed = strict({
  experimentId: id,
  sampleId: id,
  attempt: positive,
  epoch: count,
  epochs: count,
  metrics,
});

/** What a finished training run measured; shared by trials, transfers and the process trainer protocol. */
export const trainingResult = {
  validationAccuracy: probability,
  testAccuracy: nullable(probability),
  loss: finite,
  params: count,
  /** Multiply-adds of one forward pass (the paper's FLOPs). */
  multAdds: count,
  seconds: Type.Number({ minimum: 0 }),
  imagesPerSec: Type.Number({ minimum: 0 }),
  backend: text,
  /** The device in words (`NVIDIA H200 (nvidia hopper, WebGPU)`); absent in older events. */
  device: Type.Optional(text),
  /**
   * How batch norm was evaluated: with statistics recalibrated on training images after the
   * run, or with the moving averages. Absent in events of trainers that did not say (older ones).
   */
  evaluation: Type.Optional(
    strict({
      batchNorm: Type.Enum(['recalibrated', 'moving-average', 'none']),
      recalibrationImages: count,
    }),
  ),
};

const TrainingCompleted = strict({
  experimentId: id,
  sampleId: id,
  attempt: positive,
  ...trainingResult,
  /** Null when the training diverged (a NaN or infinite loss): JSON has no such numbers. */
  loss: nullable(finite),
});

const failure = {
  reason: text,
  retryable: Type.Boolean(),
};

const TrainingFailed = strict({
  experimentId: id,
  sampleId: id,
  attempt: positive,
  ...failure,
});

const RewardReported = strict({
  experimentId: id,
  sampleId: id,
  reward: finite,
  /** `trained`: from this trial; `reused`: an earlier sample with the same cell hash; `failure`: the documented failure reward. */
  source: Type.Enum(['trained', 'reused', 'failure']),
  reusedFromSampleId: nullable(id),
});

// ---- transfer-<transferId> --------------------------------------------------------------

const TransferRequested = strict({
  transferId: id,
  /** Where the cell came from: `nasnet-a`, a file, or `<experimentId>#<sampleId>`. */
  source: text,
  genotype: genotypeSchema,
  N: positive,
  F: positive,
  dataset: text,
  config: jsonObject,
});

const TransferProgressed = strict({
  transferId: id,
  epoch: count,
  epochs: count,
  metrics,
});

const TransferCompleted = strict({
  transferId: id,
  ...trainingResult,
  /** Null when the training diverged, as in TrainingCompleted. */
  loss: nullable(finite),
});

const TransferFailed = strict({ transferId: id, ...failure });

// ---- snapshot-<experimentId> ------------------------------------------------------------

/**
 * The controller's whole state right after PolicyUpdated v`policyVersion` (parameters, Adam
 * moments, baseline, or evolution's population), as its strategy's snapshot() gives it. A
 * resume starts from it only when `paramsDigest` is the digest that PolicyUpdated recorded
 * and the restored state hashes to it again: a snapshot is a shortcut, never a source of truth.
 */
const ControllerSnapshotted = strict({
  experimentId: id,
  policyVersion: positive,
  paramsDigest: digest,
  snapshot: jsonObject,
});

/** Current schema of every event type. Bump `version` and add an upcaster when a schema changes. */
export const EVENT_SCHEMAS = {
  ExperimentCreated: { version: 1, data: ExperimentCreated },
  ControllerInitialized: { version: 1, data: ControllerInitialized },
  ArchitectureSampled: { version: 1, data: ArchitectureSampled },
  PolicyUpdated: { version: 1, data: PolicyUpdated },
  ExperimentCompleted: { version: 1, data: ExperimentCompleted },
  ExperimentStopped: { version: 1, data: ExperimentStopped },
  ExperimentResumed: { version: 1, data: ExperimentResumed },
  TrialClaimed: { version: 1, data: TrialClaimed },
  TrialReleased: { version: 1, data: TrialReleased },
  TrainingProgressed: { version: 1, data: TrainingProgressed },
  TrainingCompleted: { version: 1, data: TrainingCompleted },
  TrainingFailed: { version: 1, data: TrainingFailed },
  RewardReported: { version: 1, data: RewardReported },
  TransferRequested: { version: 1, data: TransferRequested },
  TransferProgressed: { version: 1, data: TransferProgressed },
  TransferCompleted: { version: 1, data: TransferCompleted },
  TransferFailed: { version: 1, data: TransferFailed },
  ControllerSnapshotted: { version: 1, data: ControllerSnapshotted },
} as const;

export type EventType = keyof typeof EVENT_SCHEMAS;
export const EVENT_TYPES = Object.keys(EVENT_SCHEMAS) as EventType[];
export type EventData<T extends EventType> = Static<(typeof EVENT_SCHEMAS)[T]['data']>;

/** The schema version a type is written with now; only the catalogue says it. */
export function currentVersion(type: EventType): number {
  return EVENT_SCHEMAS[type].version;
}

export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_SCHEMAS, type);
}
