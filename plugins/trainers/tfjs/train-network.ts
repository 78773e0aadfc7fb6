import type * as tfTypes from '@tensorflow/tfjs';
import { TrainingFailure, type TrainingProgress } from '../../../core/runtime/trainer-plugin.ts';
import { defaultAugmentation } from '../../datasets/augment.ts';
import { batches } from '../../datasets/batches.ts';
import type { Dataset, Split } from '../../datasets/dataset.ts';
import { channelStats, type ChannelStats } from '../../datasets/normalise.ts';
import { splitValidation } from '../../datasets/split.ts';
import { buildNasnetPlan, type NetworkOptions } from '../network/nasnet-plan.ts';
import { planTotals } from '../network/plan.ts';
import { NetworkModel } from './network-model.ts';
import type { TfRuntime } from './tf-runtime.ts';
import type { TrainSettings } from './train-settings.ts';

export interface TrainOutcome {
  validationAccuracy: number;
  testAccuracy: number | null;
  loss: number;
  params: number;
  multAdds: number;
  seconds: number;
  imagesPerSec: number;
  backend: string;
  device: string;
}

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
): Promise<TrainOutcome> {
  const { tf } = runtime;
  const started = performance.now();
  const held = splitValidation(dataset.train, { fraction: settings.validationFraction, seed: settings.seed });
  const train =
    settings.maxTrainExamples > 0 && settings.maxTrainExamples < held.train.count
      ? // a stratified subset, so a short run still sees every class in proportion
        splitValidation(held.train, { count: settings.maxTrainExamples, seed: settings.seed + 1 }).validation
      : held.train;
  const stats = channelStats(train);
  const plan = buildNasnetPlan({ ...network, imageShape: [...dataset.imageShape], classes: dataset.classes });
  const totals = planTotals(plan);
  const model = new NetworkModel(tf, plan, settings.seed, settings.batchNormMomentum);
  const optimizer =
    settings.optimizer === 'sgd' ? tf.train.momentum(settings.learningRate, settings.momentum) : tf.train.adam(settings.learningRate);
  const stepsPerEpoch = Math.ceil(train.count / settings.batchSize);
  const totalSteps = stepsPerEpoch * settings.epochs;
  const augment = settings.augment ? defaultAugmentation(dataset) : false;
  let step = 0;
  let trainingMs = 0;
  let imagesSeen = 0;
  let lastLoss = Number.NaN;
  try {
    for (let epoch = 0; epoch < settings.epochs; epoch++) {
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      const epochStart = performance.now();
      for (const batch of batches(train, { batchSize: settings.batchSize, shuffle: true, seed: settings.seed, epoch, augment, normalise: stats })) {
        if (hooks.signal?.aborted) throw aborted();
        if (settings.optimizer === 'sgd') {
          // cosine decay from the initial rate to 0 over the run (the paper)
          (optimizer as tfTypes.MomentumOptimizer).setLearningRate(settings.learningRate * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps)));
        }
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
      if (epoch < settings.epochs - 1) metrics.validationAccuracy = evaluate(runtime, model, held.validation, stats, settings.batchSize);
      hooks.progress?.({ epoch: epoch + 1, epochs: settings.epochs, metrics });
    }
    const validationAccuracy = evaluate(runtime, model, held.validation, stats, settings.batchSize);
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
    };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

/**
 * One optimisation step on a batch (exported for the training benchmark): forward with batch
 * statistics and drop-path, cross-entropy (+ auxiliary head) + L2, the optimizer's update,
 * then the batch-norm moving averages. Returns the loss and how many predictions were right.
 */
export function trainStep(
  { tf }: TfRuntime,
  model: NetworkModel,
  optimizer: tfTypes.Optimizer,
  batch: { x: Float32Array; y: Int32Array; size: number },
  settings: Pick<TrainSettings, 'auxWeight' | 'seed' | 'dropPath' | 'weightDecay'>,
  progress: number,
  step: number,
): { loss: number; hits: number } {
  const input = model.plan.nodes[model.plan.input]!.shape;
  const [h, w, c] = input;
  const classes = model.plan.nodes[model.plan.logits]!.shape[2];
  let stats: ReturnType<NetworkModel['forward']>['batchStats'] = [];
  let hits = 0;
  const loss = tf.tidy(() => {
    const x = tf.tensor4d(batch.x, [batch.size, h, w, c]);
    const labels = tf.oneHot(tf.tensor1d(batch.y, 'int32'), classes);
    const cost = optimizer.minimize(() => {
      const out = model.forward(x, {
        training: true,
        aux: settings.auxWeight > 0,
        seed: settings.seed * 1_000_003 + step,
        // ScheduledDropPath: deeper cells and later steps drop more
        dropProbability: (cell) => settings.dropPath * ((cell + 1) / model.plan.cells) * progress,
      });
      stats = out.batchStats.map((s) => ({ node: s.node, mean: tf.keep(s.mean), variance: tf.keep(s.variance) }));
      hits = tf.equal(tf.argMax(out.logits, 1), tf.tensor1d(batch.y, 'int32')).sum().dataSync()[0]!;
      let total = tf.losses.softmaxCrossEntropy(labels, out.logits) as tfTypes.Scalar;
      if (out.auxLogits) total = total.add(tf.losses.softmaxCrossEntropy(labels, out.auxLogits).mul(settings.auxWeight));
      if (settings.weightDecay > 0) {
        const squares = tf.addN(model.decayedVariables().map((v) => tf.sum(tf.square(v))));
        total = total.add(squares.mul(settings.weightDecay / 2));
      }
      return total;
    }, true);
    return cost!;
  });
  const value = loss.dataSync()[0]!;
  loss.dispose();
  model.updateBatchNormStatistics(stats);
  for (const s of stats) {
    s.mean.dispose();
    s.variance.dispose();
  }
  return { loss: value, hits };
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
