import type { Genotype } from '../search-space/genotype.ts';

/**
 * The contract between the search and whatever trains a child network (README, "Trainer plugins").
 * The runtime turns calls and results into events; a plugin never touches the store.
 */
export interface TrainingJob {
  experimentId: string;
  sampleId: string;
  attempt: number;
  genotype: Genotype;
  /** Normal cells per stack and filters of the first stack. */
  network: { N: number; filters: number };
  /** `fashion-mnist-mini`, `fashion-mnist`, `cifar10`, or a directory. */
  dataset: string;
  epochs: number;
  seed: number;
  /**
   * Seed of the data split (validation examples, training subset), the same for every child of
   * an experiment, so rewards compare cells on the same examples. Absent: use `seed`.
   */
  dataSeed?: number;
  /** Plugin-specific settings (optimizer, batch size, …), validated by the plugin. */
  settings?: Record<string, unknown>;
}

export interface TrainingProgress {
  epoch: number;
  epochs: number;
  metrics: Record<string, number>;
}

export interface TrainingResult {
  /** The reward: accuracy on examples held out from the training set. */
  validationAccuracy: number;
  testAccuracy: number | null;
  loss: number;
  params: number;
  multAdds: number;
  seconds: number;
  imagesPerSec: number;
  backend: string;
  device: string;
  /** How the network was evaluated (batch norm recalibrated or not); recorded with the result. */
  evaluation?: EvaluationMethod;
}

export interface EvaluationMethod {
  /** `none`: the network has no batch norm (or the plugin trains no network). */
  batchNorm: 'recalibrated' | 'moving-average' | 'none';
  /** Training images whose statistics replaced the moving averages (0 unless recalibrated). */
  recalibrationImages: number;
}

/** A training that ended without a result; `retryable` tells the runtime whether another attempt may help. */
export class TrainingFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TrainingFailure';
  }
}

export interface TrainerContext {
  /** Aborted when the run must stop (shutdown, lease lost); the plugin stops promptly and throws. */
  signal: AbortSignal;
  progress(progress: TrainingProgress): void;
}

export interface TrainerPlugin {
  /** Recorded in every TrialClaimed; a worker only trains experiments configured for this name. */
  readonly name: string;
  /** Where it computes (e.g. `wasm` / `1 thread`), once it has started; recorded in TrialClaimed. */
  describe?(): Promise<{ backend: string; device: string }>;
  train(job: TrainingJob, context: TrainerContext): Promise<TrainingResult>;
  close?(): Promise<void>;
}

/** What the runtime tells a plugin when it creates one. */
export interface TrainerOptions {
  /** How many trainings the runtime will run at once (`--workers k`). */
  concurrency: number;
  /** Plugin options from the command line or config file (e.g. `{backend: 'wasm'}`), validated by the plugin. */
  options: Record<string, unknown>;
}

/**
 * A trainer module — built in, or loaded from a path with `--trainer ./my-trainer.js` —
 * exports `createTrainer` (or a default export) of this type.
 */
export type TrainerFactory = (options: TrainerOptions) => TrainerPlugin | Promise<TrainerPlugin>;
