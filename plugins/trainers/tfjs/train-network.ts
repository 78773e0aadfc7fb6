import type * as tfTypes from '@tensorflow/tfjs';
import { TrainingFailure, type TrainingProgress, type TrainingResult } from '../../../core/runtime/trainer-plugin.ts';
import { defaultAugmentation } from '../../datasets/augment.ts';
import { batches } from '../../datasets/batches.ts';
import type { Dataset, Split } from '../../datasets/dataset.ts';
import { channelStats, type ChannelStats } from '../../datasets/normalise.ts';
import { selectExamples } from '../../datasets/dataset.ts';
import { selectTrainingData } from '../../datasets/selection.ts';
import { buildNasnetPlan, type NetworkOptions } from '../network/nasnet-plan.ts';
import { planTotals, type NetworkPlan } from '../network/plan.ts';
import { recalibrateBatchNorm } from './batch-norm-recalibration.ts';
import { NetworkModel } from './network-model.ts';
import { scheduledOptimizer } from './optimizer.ts';
import { sumTensors } from './sum-tensors.ts';
import type { MemoryLimits, TfRuntime } from './tf-runtime.ts';
import type { TrainSettings } from '../training-settings.ts';

/**
 * Trains one child network and measures it. The reward is the accuracy on examples held out
 * of the training set, never the test set. Throws TrainingFailure (not retryable) when the
 * loss stops being a finite number, and an AbortError-named TrainingFailure when aborted.
 */
export async function trainNetwork(
  runtime: TfRuntime,
  dataset: Dataset,
  network: Omit<NetworkOptions, 'imageShape' | 'classes'>,
  settings: TrainSettings,
  hooks: { signal?: AbortSignal; progress?: (progress: TrainingProgress) => void } = {},
): Promise<TrainingResult> {
  const { tf } = runtime;
  const started = performance.now();
  const dataSeed = settings.dataSeed ?? settings.seed;
  const selected = selectTrainingData(dataset.train, {
    validationFraction: settings.validationFraction,
    maxTrainExamples: settings.maxTrainExamples,
    seed: dataSeed,
  });
  const train = selectExamples(dataset.train, selected.train);
  const validation = selectExamples(dataset.train, selected.validation);
  const stats = channelStats(train);
  const plan = buildNasnetPlan({ ...network, imageShape: [...dataset.imageShape], classes: dataset.classes });
  const totals = planTotals(plan);
  const model = new NetworkModel(tf, plan, settings.seed, settings.batchNormMomentum);
  const { optimizer, schedule } = scheduledOptimizer(tf, settings);
  const stepsPerEpoch = Math.ceil(train.count / settings.batchSize);
  const totalSteps = stepsPerEpoch * settings.epochs;
  const augment = settings.augment ? defaultAugmentation(dataset) : false;
  let step = 0;
  let trainingMs = 0;
  let imagesSeen = 0;
  let lastLoss = Number.NaN;
  let recalibrationImages = 0;
  // Evaluation with batch statistics recalibrated on training images (or the moving averages).
  const evaluateOn = async (split: Split, epoch: number) => {
    if (settings.batchNormRecalibration > 0) {
      const images = batches(train, {
        batchSize: RECALIBRATION_BATCH,
        shuffle: true,
        seed: settings.seed,
        epoch: RECALIBRATION_EPOCH + epoch,
        normalise: stats,
      });
      recalibrationImages = recalibrateBatchNorm(runtime.tf, model, images, settings.batchNormRecalibration);
    }
    return evaluate(runtime, model, split, stats, settings.batchSize);
  };
  try {
    for (let epoch = 0; epoch < settings.epochs; epoch++) {
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      const epochStart = performance.now();
      for (const batch of batches(train, {
        batchSize: settings.batchSize,
        shuffle: true,
        seed: settings.seed,
        epoch,
        augment,
        normalise: stats,
      })) {
        if (hooks.signal?.aborted) throw aborted();
        schedule(step / totalSteps);
        const { loss, hits } = await trainStep(runtime, model, optimizer, batch, settings, step / totalSteps, step);
        if (!Number.isFinite(loss)) {
          throw new TrainingFailure(
            `the training loss became ${loss} at epoch ${epoch + 1}, step ${step + 1}: the network diverged (try a smaller learning rate)`,
            false,
          );
        }
        lossSum += loss * batch.size;
        correct += hits;
        seen += batch.size;
        step++;
        imagesSeen += batch.size;
        lastLoss = loss;
        // let an abort (or anything else waiting) in between steps
        await new Promise((resolve) => setImmediate(resolve));
      }
      trainingMs += performance.now() - epochStart;
      const metrics: Record<string, number> = { loss: lossSum / seen, trainAccuracy: correct / seen };
      if (epoch < settings.epochs - 1) metrics.validationAccuracy = await evaluateOn(validation, epoch);
      hooks.progress?.({ epoch: epoch + 1, epochs: settings.epochs, metrics });
    }
    const validationAccuracy = await evaluateOn(validation, settings.epochs);
    const testAccuracy = settings.evaluateTest ? await evaluate(runtime, model, dataset.test, stats, settings.batchSize) : null;
    return {
      validationAccuracy,
      testAccuracy,
      loss: lastLoss,
      params: totals.trainableParams,
      multAdds: totals.multAdds,
      seconds: (performance.now() - started) / 1000,
      imagesPerSec: imagesSeen / (trainingMs / 1000),
      backend: runtime.backend,
      device: runtime.device,
      evaluation: { batchNorm: recalibrationImages > 0 ? 'recalibrated' : 'moving-average', recalibrationImages },
    };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

/**
 * Batches of the recalibration pass: large, so that each layer's input, computed with batch
 * statistics, is close to what it is at inference; forward only, so memory is no concern.
 */
const RECALIBRATION_BATCH = 128;
/** Its own data order, apart from every training epoch's. */
const RECALIBRATION_EPOCH = 1_000_000;

/**
 * Peak memory of a training step is about five times the activations of its batch (measured
 * on WASM: forward activations, their gradients and the tape's saved tensors). A batch whose
 * step would not fit the backend's memory, or whose largest activation would not fit in one
 * tensor (a WebGPU storage buffer), is split into micro-batches whose gradients are summed
 * before one update.
 */
const PEAK_PER_ACTIVATION_BYTE = 5;

export function microBatchSize(plan: NetworkPlan, batchSize: number, memory: MemoryLimits): number {
  let values = 0;
  let largest = 0;
  for (const node of plan.nodes) {
    const size = node.shape[0] * node.shape[1] * node.shape[2];
    values += size;
    largest = Math.max(largest, size);
  }
  const byStep = Math.floor(memory.stepBytes / (values * 4 * PEAK_PER_ACTIVATION_BYTE));
  const byTensor = Math.floor(memory.tensorBytes / (largest * 4));
  return Math.max(1, Math.min(batchSize, byStep, byTensor));
}

export interface StepResult {
  /** Mean cross-entropy of the batch (NaN when the step diverged). */
  loss: number;
  /** Predictions that were right. */
  hits: number;
}

/**
 * One optimisation step on a batch (exported for the training benchmark): forward with batch
 * statistics and drop-path, cross-entropy (+ auxiliary head) + L2, the optimizer's update,
 * then the batch-norm moving averages. Large batches run as micro-batches (see
 * microBatchSize). The step's numbers come back in one asynchronous read after the update
 * is queued: a GPU backend can only read asynchronously, and one read keeps it busy.
 */
export function trainStep(...args: Parameters<typeof stepOnDevice>): Promise<StepResult> {
  return checked(args[0], () => stepOnDevice(...args));
}

async function stepOnDevice(
  { tf, memory }: TfRuntime,
  model: NetworkModel,
  optimizer: tfTypes.Optimizer,
  batch: { x: Float32Array; y: Int32Array; size: number },
  settings: Pick<TrainSettings, 'auxWeight' | 'seed' | 'dropPath' | 'weightDecay'>,
  progress: number,
  step: number,
): Promise<StepResult> {
  const [h, w, c] = model.plan.nodes[model.plan.input]!.shape;
  const classes = model.plan.nodes[model.plan.logits]!.shape[2];
  const micro = microBatchSize(model.plan, batch.size, memory);
  const size = h * w * c;
  // per micro-batch: [its share of the batch's cross-entropy, its hits, its share of the total loss]
  const readouts: tfTypes.Tensor[] = [];
  let summed: Record<string, tfTypes.Tensor> | null = null;
  for (let start = 0; start < batch.size; start += micro) {
    const n = Math.min(micro, batch.size - start);
    // each micro-batch carries its share of the batch's mean loss and of the L2 term
    const share = n / batch.size;
    let stats: ReturnType<NetworkModel['forward']>['batchStats'] = [];
    let readout: tfTypes.Tensor | null = null;
    const { value, grads } = tf.tidy(() => {
      const x = tf.tensor4d(batch.x.subarray(start * size, (start + n) * size), [n, h, w, c]);
      const labelIds = tf.tensor1d(batch.y.subarray(start, start + n), 'int32');
      const labels = tf.oneHot(labelIds, classes);
      return tf.variableGrads(() => {
        const out = model.forward(x, {
          training: true,
          aux: settings.auxWeight > 0,
          seed: settings.seed * 1_000_003 + step * 64 + start,
          // ScheduledDropPath: deeper cells and later steps drop more
          dropProbability: (cell) => settings.dropPath * ((cell + 1) / model.plan.cells) * progress,
        });
        stats = out.batchStats.map((s) => ({ node: s.node, mean: tf.keep(s.mean), variance: tf.keep(s.variance) }));
        const hits = tf.equal(tf.argMax(out.logits, 1), labelIds).sum().cast('float32');
        const crossEntropy = tf.losses.softmaxCrossEntropy(labels, out.logits) as tfTypes.Scalar;
        let total: tfTypes.Scalar = crossEntropy;
        if (out.auxLogits) total = total.add(tf.losses.softmaxCrossEntropy(labels, out.auxLogits).mul(settings.auxWeight));
        if (settings.weightDecay > 0) {
          const squares = sumTensors(
            tf,
            model.decayedVariables().map((v) => tf.sum(tf.square(v))),
          );
          total = total.add(squares.mul(settings.weightDecay / 2));
        }
        const shared = total.mul(share) as tfTypes.Scalar;
        readout = tf.keep(tf.stack([crossEntropy.mul(share), hits, shared]));
        return shared;
      }, model.trainableVariables());
    });
    readouts.push(readout!);
    value.dispose();
    if (summed === null) summed = grads;
    else {
      const previous: Record<string, tfTypes.Tensor> = summed;
      summed = tf.tidy(() => Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, g.add(previous[name]!)])));
      for (const t of [...Object.values(previous), ...Object.values(grads)]) t.dispose();
    }
    model.updateBatchNormStatistics(stats);
    for (const s of stats) tf.dispose([s.mean, s.variance]);
  }
  // A diverged step updates weights that are thrown away: the caller stops on a NaN loss.
  optimizer.applyGradients(summed!);
  tf.dispose(Object.values(summed!));
  const totals = tf.tidy(() => sumTensors(tf, readouts).clone());
  tf.dispose(readouts);
  const [loss, hits, total] = await totals.data();
  totals.dispose();
  return { loss: Number.isFinite(total) ? loss! : Number.NaN, hits: hits! };
}

/** Accuracy on a split, counted on the device and read once at the end. */
function evaluate(
  runtime: TfRuntime,
  model: NetworkModel,
  split: Split,
  stats: ChannelStats,
  batchSize: number,
): Promise<number> {
  return checked(runtime, () => countCorrect(runtime, model, split, stats, batchSize));
}

async function countCorrect(
  { tf }: TfRuntime,
  model: NetworkModel,
  split: Split,
  stats: ChannelStats,
  batchSize: number,
): Promise<number> {
  const [h, w, c] = split.imageShape;
  let correct: tfTypes.Tensor = tf.scalar(0, 'int32');
  for (const batch of batches(split, { batchSize, normalise: stats })) {
    const previous = correct;
    correct = tf.tidy(() => {
      const logits = model.forward(tf.tensor4d(batch.x, [batch.size, h, w, c]), { training: false }).logits;
      return previous.add(tf.equal(tf.argMax(logits, 1), tf.tensor1d(batch.y, 'int32')).sum());
    });
    previous.dispose();
  }
  const [count] = await correct.data();
  correct.dispose();
  return count! / split.count;
}

/** Runs device work in an error scope: an error the device reports fails it, not only a thrown one. */
async function checked<T>({ errorScope }: TfRuntime, work: () => Promise<T>): Promise<T> {
  const close = errorScope();
  let result: T;
  try {
    result = await work();
  } finally {
    const fault = await close();
    if (fault !== null) throw new TrainingFailure(`the GPU rejected the work, so its numbers cannot be trusted: ${fault}`, false);
  }
  return result;
}

function aborted(): TrainingFailure {
  const failure = new TrainingFailure('training was aborted', true);
  failure.name = 'AbortError';
  return failure;
}
