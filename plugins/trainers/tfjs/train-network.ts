import type * as tfTypes from '@tensorflow/tfjs';
import { TrainingFailure, type TrainingProgress, type TrainingResult } from '../../../core/runtime/trainer-plugin.ts';
import { defaultAugmentation } from '../../datasets/augment.ts';
import { batches } from '../../datasets/batches.ts';
import type { Dataset, Split } from '../../datasets/dataset.ts';
import { channelStats, type ChannelStats } from '../../datasets/normalise.ts';
import { splitValidation } from '../../datasets/split.ts';
import { buildNasnetPlan, type NetworkOptions } from '../network/nasnet-plan.ts';
import { planTotals, type NetworkPlan } from '../network/plan.ts';
import { recalibrateBatchNorm } from './batch-norm-recalibration.ts';
import { NetworkModel } from './network-model.ts';
import { scheduledOptimizer } from './optimizer.ts';
import type { TfRuntime } from './tf-runtime.ts';
import type { TrainSettings } from './train-settings.ts';


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
  const held = splitValidation(dataset.train, { fraction: settings.validationFraction, seed: dataSeed });
  const train =
    settings.maxTrainExamples > 0 && settings.maxTrainExamples < held.train.count
      ? // a stratified subset, so a short run still sees every class in proportion
        splitValidation(held.train, { count: settings.maxTrainExamples, seed: dataSeed + 1 }).validation
      : held.train;
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
  const evaluateOn = (split: Split, epoch: number) => {
    if (settings.batchNormRecalibration > 0) {
      const images = batches(train, { batchSize: RECALIBRATION_BATCH, shuffle: true, seed: settings.seed, epoch: RECALIBRATION_EPOCH + epoch, normalise: stats });
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
      for (const batch of batches(train, { batchSize: settings.batchSize, shuffle: true, seed: settings.seed, epoch, augment, normalise: stats })) {
        if (hooks.signal?.aborted) throw aborted();
        schedule(step / totalSteps);
        const { loss, hits } = trainStep(runtime, model, optimizer, batch, settings, step / totalSteps, step);
        if (!Number.isFinite(loss)) {
          throw new TrainingFailure(`the training loss became ${loss} at epoch ${epoch + 1}, step ${step + 1}: the network diverged (try a smaller learning rate)`, false);
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
      if (epoch < settings.epochs - 1) metrics.validationAccuracy = evaluateOn(held.validation, epoch);
      hooks.progress?.({ epoch: epoch + 1, epochs: settings.epochs, metrics });
    }
    const validationAccuracy = evaluateOn(held.validation, settings.epochs);
    const testAccuracy = settings.evaluateTest ? evaluate(runtime, model, dataset.test, stats, settings.batchSize) : null;
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
 * on WASM: forward activations, their gradients and the tape's saved tensors). WebAssembly
 * memory stops at 4 GB, so a batch whose step would not fit is split into micro-batches
 * whose gradients are summed before one update.
 */
const PEAK_PER_ACTIVATION_BYTE = 5;
export const DEFAULT_STEP_MEMORY_BUDGET = 2.5e9;

export function microBatchSize(plan: NetworkPlan, batchSize: number, budgetBytes = DEFAULT_STEP_MEMORY_BUDGET): number {
  let values = 0;
  for (const node of plan.nodes) values += node.shape[0] * node.shape[1] * node.shape[2];
  const perExample = values * 4 * PEAK_PER_ACTIVATION_BYTE;
  return Math.max(1, Math.min(batchSize, Math.floor(budgetBytes / perExample)));
}

/**
 * One optimisation step on a batch (exported for the training benchmark): forward with batch
 * statistics and drop-path, cross-entropy (+ auxiliary head) + L2, the optimizer's update,
 * then the batch-norm moving averages. Returns the cross-entropy loss and how many
 * predictions were right. Large batches run as micro-batches (see microBatchSize).
 */
export function trainStep(
  { tf }: TfRuntime,
  model: NetworkModel,
  optimizer: tfTypes.Optimizer,
  batch: { x: Float32Array; y: Int32Array; size: number },
  settings: Pick<TrainSettings, 'auxWeight' | 'seed' | 'dropPath' | 'weightDecay'>,
  progress: number,
  step: number,
  memoryBudget = DEFAULT_STEP_MEMORY_BUDGET,
): { loss: number; hits: number } {
  const [h, w, c] = model.plan.nodes[model.plan.input]!.shape;
  const classes = model.plan.nodes[model.plan.logits]!.shape[2];
  const micro = microBatchSize(model.plan, batch.size, memoryBudget);
  const size = h * w * c;
  let dataLoss = 0;
  let hits = 0;
  let summed: Record<string, tfTypes.Tensor> | null = null;
  let finite = true;
  for (let start = 0; start < batch.size; start += micro) {
    const n = Math.min(micro, batch.size - start);
    // each micro-batch carries its share of the batch's mean loss and of the L2 term
    const share = n / batch.size;
    let stats: ReturnType<NetworkModel['forward']>['batchStats'] = [];
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
        hits += tf.equal(tf.argMax(out.logits, 1), labelIds).sum().dataSync()[0]!;
        const crossEntropy = tf.losses.softmaxCrossEntropy(labels, out.logits) as tfTypes.Scalar;
        dataLoss += crossEntropy.dataSync()[0]! * share;
        let total: tfTypes.Scalar = crossEntropy;
        if (out.auxLogits) total = total.add(tf.losses.softmaxCrossEntropy(labels, out.auxLogits).mul(settings.auxWeight));
        if (settings.weightDecay > 0) {
          const squares = tf.addN(model.decayedVariables().map((v) => tf.sum(tf.square(v))));
          total = total.add(squares.mul(settings.weightDecay / 2));
        }
        return total.mul(share) as tfTypes.Scalar;
      }, model.trainableVariables());
    });
    finite &&= Number.isFinite(value.dataSync()[0]!);
    value.dispose();
    if (summed === null) summed = grads;
    else {
      const previous: Record<string, tfTypes.Tensor> = summed;
      summed = tf.tidy(() => Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, g.add(previous[name]!)])));
      for (const t of [...Object.values(previous), ...Object.values(grads)]) t.dispose();
    }
    model.updateBatchNormStatistics(stats);
    for (const s of stats) {
      s.mean.dispose();
      s.variance.dispose();
    }
  }
  if (finite) optimizer.applyGradients(summed!);
  for (const t of Object.values(summed!)) t.dispose();
  return { loss: finite ? dataLoss : Number.NaN, hits };
}

function evaluate({ tf }: TfRuntime, model: NetworkModel, split: Split, stats: ChannelStats, batchSize: number): number {
  const [h, w, c] = split.imageShape;
  let correct = 0;
  for (const batch of batches(split, { batchSize, normalise: stats })) {
    correct += tf.tidy(() => {
      const logits = model.forward(tf.tensor4d(batch.x, [batch.size, h, w, c]), { training: false }).logits;
      return tf.equal(tf.argMax(logits, 1), tf.tensor1d(batch.y, 'int32')).sum().dataSync()[0]!;
    });
  }
  return correct / split.count;
}

function aborted(): TrainingFailure {
  const failure = new TrainingFailure('training was aborted', true);
  failure.name = 'AbortError';
  return failure;
}
