/**
 * The GPU check's torch part (bench/device/README.md): the torch trainer
 * (plugins/trainers/torch/nasnet_torch_trainer.py) driven by the process trainer
 * (plugins/trainers/process), so the protocol code a search runs is the code measured here.
 * It runs bundled inside gpu-bench, with no node_modules on the GPU machine: the job lines are
 * built in this process (jobMessage), the Python program and fashion-mnist-mini are taken from
 * the repository's working tree (`repo`), which travels to the GPU machine with the payload.
 *
 * (b) `children`: random cells trained at the small preset's fidelity by k trainer processes
 *     sharing the device, as a search's workers would, but without the controller or a store.
 * (a) `training`: NASNet-A N=2 F=32 on all of Fashion-MNIST with the paper preset's recipe, the
 *     epochs planned from a short pilot run to fit the budget, then tested.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { seededUniform } from '../../core/controller/prng.ts';
import { PRESETS } from '../../core/runtime/presets.ts';
import type { TrainerContext, TrainingJob, TrainingProgress, TrainingResult } from '../../core/runtime/trainer-plugin.ts';
import { trialSeed } from '../../core/runtime/trial-runner.ts';
import { decodeActions, DECISIONS } from '../../core/search-space/actions.ts';
import type { Genotype } from '../../core/search-space/genotype.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { loadDataset } from '../../plugins/datasets/resolve.ts';
import { selectTrainingData } from '../../plugins/datasets/selection.ts';
import { ProcessTrainer, processTrainerOptions } from '../../plugins/trainers/process/process-trainer.ts';

/** In the repository: a bundle cannot find them beside itself (import.meta.url is the bundle's). */
export const TORCH_TRAINER_IN_REPO = 'plugins/trainers/torch/nasnet_torch_trainer.py';
export const MINI_IN_REPO = 'plugins/datasets/data/fashion-mnist-mini';
const TARGET_ACCURACY = 0.94;
const RECALIBRATION = 512;

export interface TorchContext {
  python: string;
  /** The repository's root: the trainer program and fashion-mnist-mini are read from there. */
  repo: string;
  device: 'cpu' | 'cuda';
  cpus: number;
  log: (text: string) => void;
  /** Called with the section whenever it has new figures, so the JSON is rewritten. */
  update: (section: Record<string, unknown>) => void;
}

export interface TorchPartOptions {
  /** When the whole part must be done (performance.now() milliseconds). */
  deadline: number;
  children: { count: number; workers: number; minutes: number; maxTrainExamples: number; seed: number };
  training: FullTrainingOptions;
}

export interface FullTrainingOptions {
  network: { N: number; filters: number };
  /** A dataset name or directory, as loadDataset takes it. */
  dataset: string;
  batchSize: number;
  learningRate: number;
  validationFraction: number;
  /** 0: all of the training images (the only run that answers the accuracy goal). */
  maxTrainExamples: number;
  maxEpochs: number;
  /** Fixed epochs instead of planning them. */
  epochs: number | null;
  /** Batches of the pilot run's epochs, whose second epoch gives the planning speed. */
  pilotBatches: number;
}

/** Why the torch part cannot run here, or null. */
export function torchPartProblem(repo: string): string | null {
  const missing = [TORCH_TRAINER_IN_REPO, MINI_IN_REPO].filter((path) => !existsSync(join(repo, path)));
  return missing.length === 0 ? null : `not in the repository at ${repo} (run from its root, or --repo): ${missing.join(', ')}`;
}

export async function runTorchPart(ctx: TorchContext, options: TorchPartOptions): Promise<Record<string, unknown>> {
  const section: Record<string, unknown> = {
    python: ctx.python,
    device: ctx.device,
    trainer: TORCH_TRAINER_IN_REPO,
    protocol: 'process trainer protocol v1 (ProcessTrainer)',
  };
  const childrenDeadline = Math.min(options.deadline, performance.now() + options.children.minutes * 60_000);
  section['children'] = await trainChildren(ctx, options.children, childrenDeadline).catch((error: Error) => ({
    error: error.message,
  }));
  ctx.update(section);
  // the training gets all that is left of the part: the children took what they needed
  section['training'] = await trainFull(ctx, options.training, options.deadline, (partial) =>
    ctx.update({ ...section, training: partial }),
  ).catch((error: Error) => ({ error: error.message }));
  ctx.update(section);
  return section;
}

/** A ProcessTrainer running the torch trainer with `threads` CPU threads per process. */
function torchTrainer(ctx: TorchContext, threads: number, cudnnBenchmark: boolean): ProcessTrainer {
  const env = {
    NASNET_TORCH_DEVICE: ctx.device,
    NASNET_TORCH_THREADS: String(Math.max(1, threads)),
    NASNET_TORCH_CUDNN_BENCHMARK: cudnnBenchmark ? '1' : '0',
  };
  return new ProcessTrainer(
    processTrainerOptions(
      { command: [ctx.python, join(ctx.repo, TORCH_TRAINER_IN_REPO)], cwd: ctx.repo, env, graceSeconds: 5 },
      { name: 'torch', backend: 'pytorch' },
    ),
  );
}

/** When each progress line arrived, for the speed of a warm epoch. */
interface Timed {
  result: TrainingResult;
  epochsAt: number[];
  seconds: number;
}

async function timedTrain(
  trainer: ProcessTrainer,
  job: TrainingJob,
  signal: AbortSignal,
  onProgress: (p: TrainingProgress, at: number) => void = () => undefined,
): Promise<Timed> {
  const started = performance.now();
  const epochsAt: number[] = [];
  const context: TrainerContext = {
    signal,
    progress: (p) => {
      epochsAt.push(performance.now());
      onProgress(p, performance.now());
    },
  };
  const result = await trainer.train(job, context);
  return { result, epochsAt, seconds: (performance.now() - started) / 1000 };
}

/** The same random cell for (seed, index) on every run: the controller's uniform draws, no policy. */
export function randomGenotype(seed: number, index: number): Genotype {
  const u = seededUniform('gpu-check-children', seed, index);
  return decodeActions(DECISIONS.map((decision) => Math.floor(u() * decision.choices)));
}

/** A child's job as the small preset's search would send it (trial-runner.ts's startTrial). */
function childJob(repo: string, seed: number, index: number, maxTrainExamples: number): TrainingJob {
  const small = PRESETS.small.config;
  if (!('filters' in small.network)) throw new Error('the small preset no longer fixes the filters');
  return {
    experimentId: 'gpu-check-children',
    sampleId: `child-${index}`,
    attempt: 1,
    genotype: randomGenotype(seed, index),
    network: { N: small.network.N, filters: small.network.filters },
    dataset: join(repo, MINI_IN_REPO),
    epochs: small.epochs,
    seed: trialSeed(seed, index),
    dataSeed: seed,
    settings: { ...small.training, ...(maxTrainExamples > 0 ? { maxTrainExamples } : {}) },
  };
}

interface ChildOutcome {
  index: number;
  reward: number;
  imagesPerSec: number;
  seconds: number;
  params: number;
}

/** (b): `count` children through one ProcessTrainer with `workers` trainings at once. */
async function trainChildren(
  ctx: TorchContext,
  o: TorchPartOptions['children'],
  deadline: number,
): Promise<Record<string, unknown>> {
  const probe = childJob(ctx.repo, o.seed, 0, o.maxTrainExamples);
  const settings = probe.settings as { validationFraction: number; maxTrainExamples?: number };
  const mini = loadDataset(probe.dataset);
  const trainImages = selectTrainingData(mini.train, {
    validationFraction: settings.validationFraction,
    maxTrainExamples: settings.maxTrainExamples ?? 0,
    seed: o.seed,
  }).train.length;
  const trainer = torchTrainer(ctx, Math.floor(ctx.cpus / o.workers), false);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), Math.max(0, deadline - performance.now()));
  const done: ChildOutcome[] = [];
  const failures: Array<{ index: number; message: string }> = [];
  let next = 0;
  const worker = async () => {
    while (next < o.count && !abort.signal.aborted) {
      const index = next++;
      try {
        const { result } = await timedTrain(trainer, childJob(ctx.repo, o.seed, index, o.maxTrainExamples), abort.signal);
        done.push({
          index,
          reward: result.validationAccuracy,
          imagesPerSec: result.imagesPerSec,
          seconds: result.seconds,
          params: result.params,
        });
        if (done.length % 10 === 0 || done.length === o.count) ctx.log(`  children: ${done.length}/${o.count} trained`);
      } catch (error) {
        if (!abort.signal.aborted) failures.push({ index, message: (error as Error).message.slice(0, 500) });
      }
    }
  };
  ctx.log(
    `torch children: ${o.count} random cells at the small preset's fidelity (${trainImages} training images each), ${o.workers} processes`,
  );
  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: o.workers }, worker));
  } finally {
    clearTimeout(timer);
    await trainer.close();
  }
  return childrenReport(
    o,
    { trainImages, dataset: mini.source, settings: probe.settings ?? {}, network: probe.network },
    done,
    failures,
    (performance.now() - started) / 1000,
    abort.signal.aborted,
  );
}

function childrenReport(
  o: TorchPartOptions['children'],
  what: { trainImages: number; dataset: string; settings: Record<string, unknown>; network: TrainingJob['network'] },
  done: ChildOutcome[],
  failures: Array<{ index: number; message: string }>,
  wallSeconds: number,
  stoppedAtBudget: boolean,
): Record<string, unknown> {
  const rewards = done.map((c) => c.reward);
  return {
    what: "children trained as a search would (the small preset's fidelity, random cells), without the controller or a store",
    requested: o.count,
    trained: done.length,
    failed: failures.length,
    failures: failures.slice(0, 5),
    stoppedAtBudget,
    workers: o.workers,
    network: what.network,
    dataset: what.dataset,
    trainImagesPerChild: what.trainImages,
    settings: what.settings,
    wallSeconds: round(wallSeconds),
    childrenPerHour: done.length > 0 ? round((done.length / wallSeconds) * 3600) : null,
    meanImagesPerSec: mean(done.map((c) => c.imagesPerSec)),
    /** Training images of all the children over the wall time: what the k processes do together. */
    aggregateImagesPerSec: done.length > 0 ? round((done.length * what.trainImages) / wallSeconds) : null,
    meanChildSeconds: mean(done.map((c) => c.seconds)),
    reward:
      rewards.length > 0
        ? { min: round(Math.min(...rewards)), mean: mean(rewards), max: round(Math.max(...rewards)), std: std(rewards) }
        : null,
  };
}

/** The paper preset's recipe (SGD, momentum 0.9, cosine, weight decay 5e-4), with augmentation. */
function recipe(o: FullTrainingOptions, overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    batchSize: o.batchSize,
    optimizer: 'sgd',
    learningRate: o.learningRate,
    learningRateSchedule: 'cosine',
    momentum: 0.9,
    weightDecay: 5e-4,
    validationFraction: o.validationFraction,
    maxTrainExamples: o.maxTrainExamples,
    augment: true,
    batchNormRecalibration: RECALIBRATION,
    evaluateTest: true,
    ...overrides,
  };
}

function fullJob(o: FullTrainingOptions, sampleId: string, epochs: number, overrides: Record<string, unknown>): TrainingJob {
  return {
    experimentId: 'gpu-check-training',
    sampleId,
    attempt: 1,
    genotype: NASNET_A,
    network: o.network,
    dataset: o.dataset,
    epochs,
    seed: 1,
    dataSeed: 1,
    settings: recipe(o, overrides),
  };
}

/** (a): a pilot run for the speed, then the training with the epochs that fit before `deadline`. */
async function trainFull(
  ctx: TorchContext,
  o: FullTrainingOptions,
  deadline: number,
  update: (partial: Record<string, unknown>) => void,
): Promise<Record<string, unknown>> {
  const dataset = loadDataset(o.dataset);
  const split = selectTrainingData(dataset.train, {
    validationFraction: o.validationFraction,
    maxTrainExamples: o.maxTrainExamples,
    seed: 1,
  });
  const counts = {
    trainExamples: split.train.length,
    validationExamples: split.validation.length,
    testExamples: dataset.test.count,
  };
  const base: Record<string, unknown> = { network: o.network, dataset: dataset.source, ...counts, settings: recipe(o, {}) };
  // one process for the pilot and the training: the second finds the files loaded, cuDNN warm
  const trainer = torchTrainer(ctx, ctx.cpus, ctx.device === 'cuda');
  try {
    const pilot = await runPilot(ctx, trainer, o, counts.trainExamples, deadline);
    const plan = planEpochs(o, pilot, counts, (deadline - performance.now()) / 1000);
    Object.assign(base, { pilot, epochsPlanned: plan.epochs, epochsBasis: plan.basis });
    update(base);
    if (plan.epochs < 1) return { ...base, skipped: 'not enough time left for one epoch' };
    return await mainRun(ctx, trainer, o, plan.epochs, deadline, base, update);
  } finally {
    await trainer.close();
  }
}

interface Pilot {
  images: number;
  /** Wall time, the process's start and the files' first reading included. */
  seconds: number;
  /** The trainer's own seconds for the job: what a second job in the same process costs again. */
  trainerSeconds: number;
  /** Training images/s of the pilot's second (warm) epoch. */
  imagesPerSec: number;
}

/** Two epochs of `pilotBatches` batches: the second one's duration is a warm epoch's speed. */
async function runPilot(
  ctx: TorchContext,
  trainer: ProcessTrainer,
  o: FullTrainingOptions,
  trainCount: number,
  deadline: number,
): Promise<Pilot> {
  const images = Math.min(trainCount, o.pilotBatches * o.batchSize);
  ctx.log(`torch training: pilot, 2 epochs of ${images} images`);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), Math.max(0, deadline - performance.now()));
  try {
    const run = await timedTrain(
      trainer,
      fullJob(o, 'pilot', 2, { maxTrainExamples: images, evaluateTest: false }),
      abort.signal,
    );
    const [first, second] = run.epochsAt;
    // progress of epoch 2 comes right after its last step (no evaluation after the last epoch)
    const warm = first !== undefined && second !== undefined ? images / ((second - first) / 1000) : run.result.imagesPerSec;
    return {
      images,
      seconds: round(run.seconds),
      trainerSeconds: round(run.result.seconds),
      imagesPerSec: round(Math.max(warm, run.result.imagesPerSec)),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Epochs that fit the seconds left, so the cosine schedule completes: training at 95% of the
 * pilot's warm speed (the last, partial batch and new shapes cost a little), evaluation passes
 * (forward only) at half of it, the trainer's overhead in the pilot (network, evaluations)
 * once more, and 10 s for the job line and the data's copy to the device. The process has
 * started and read the files already: that part of the pilot's wall time is not repeated.
 */
export function planEpochs(
  o: Pick<FullTrainingOptions, 'epochs' | 'maxEpochs'>,
  pilot: Pilot,
  counts: { trainExamples: number; validationExamples: number; testExamples: number },
  secondsLeft: number,
): { epochs: number; basis: string } {
  if (o.epochs !== null) return { epochs: o.epochs, basis: '--epochs' };
  const speed = pilot.imagesPerSec;
  const overhead = Math.max(0, pilot.trainerSeconds - (2 * pilot.images) / speed) + 10;
  const epochSeconds = counts.trainExamples / (0.95 * speed) + (counts.validationExamples + RECALIBRATION) / (0.5 * speed);
  const available = secondsLeft - overhead - counts.testExamples / (0.5 * speed);
  const epochs = Math.max(0, Math.min(o.maxEpochs, Math.floor(available / epochSeconds)));
  return {
    epochs,
    basis: `pilot: ${speed} images/s; ${round(epochSeconds)} s per epoch, ${round(available)} of ${round(secondsLeft)} s left for epochs`,
  };
}

async function mainRun(
  ctx: TorchContext,
  trainer: ProcessTrainer,
  o: FullTrainingOptions,
  epochs: number,
  deadline: number,
  base: Record<string, unknown>,
  update: (partial: Record<string, unknown>) => void,
): Promise<Record<string, unknown>> {
  const perEpoch: Array<Record<string, number>> = [];
  const whole = o.maxTrainExamples === 0;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), Math.max(0, deadline - performance.now()));
  const started = performance.now();
  ctx.log(`torch training N=${o.network.N} F=${o.network.filters}: ${epochs} epochs (${String(base['epochsBasis'])})`);
  try {
    const run = await timedTrain(trainer, fullJob(o, 'nasnet-a', epochs, {}), abort.signal, (p, at) => {
      perEpoch.push({ epoch: p.epoch, seconds: round((at - started) / 1000), ...p.metrics });
      ctx.log(`  torch epoch ${p.epoch}/${p.epochs}: ${JSON.stringify(p.metrics)}`);
      update({ ...base, perEpoch });
    });
    const { result } = run;
    return {
      ...base,
      perEpoch,
      epochsDone: epochs,
      stoppedAtBudget: false,
      ...result,
      seconds: round(result.seconds),
      imagesPerSec: round(result.imagesPerSec),
      wallSeconds: round(run.seconds),
      goal: accuracyGoal(result.testAccuracy, whole),
    };
  } catch (error) {
    const stopped = abort.signal.aborted;
    const reason = stopped ? 'stopped at the time budget before the test evaluation' : (error as Error).message;
    return {
      ...base,
      perEpoch,
      epochsDone: perEpoch.length,
      stoppedAtBudget: stopped,
      testAccuracy: null,
      error: reason,
      goal: accuracyGoal(null, whole),
    };
  } finally {
    clearTimeout(timer);
  }
}

const accuracyGoal = (testAccuracy: number | null, whole: boolean) => ({
  goal: `test accuracy >= ${TARGET_ACCURACY}, trained on all of Fashion-MNIST`,
  met: testAccuracy === null || !whole ? null : testAccuracy >= TARGET_ACCURACY,
});

const round = (x: number) => Number(x.toPrecision(4));
const mean = (xs: number[]) => (xs.length > 0 ? round(xs.reduce((a, b) => a + b, 0) / xs.length) : null);
function std(xs: number[]): number {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return round(Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length));
}
