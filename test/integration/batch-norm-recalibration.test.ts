import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { TrainingJob, TrainingProgress } from '../../core/runtime/trainer-plugin.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { buildNasnetPlan } from '../../plugins/trainers/network/nasnet-plan.ts';
import { networkOptions } from '../../plugins/trainers/network/network-options.ts';
import { recalibrateBatchNorm } from '../../plugins/trainers/tfjs/batch-norm-recalibration.ts';
import { NetworkModel } from '../../plugins/trainers/tfjs/network-model.ts';
import { JobRunner } from '../../plugins/trainers/tfjs/run-job.ts';
import { loadTf } from '../../plugins/trainers/tfjs/tf-runtime.ts';

const job = (settings: Record<string, unknown>): TrainingJob => ({
  experimentId: 'bn',
  sampleId: 'bn-0',
  attempt: 1,
  genotype: NASNET_A,
  network: { N: 1, filters: 4 },
  dataset: 'fashion-mnist-mini',
  epochs: 2,
  seed: 5,
  dataSeed: 1,
  settings: {
    maxTrainExamples: 160,
    batchSize: 32,
    validationFraction: 0.05,
    optimizer: 'adam',
    learningRate: 0.01,
    augment: false,
    ...settings,
  },
});

describe('batch-norm recalibration', () => {
  it('given a network, when recalibrated on one batch, then inference computes what training mode computes on that batch', async () => {
    await loadTf('cpu');
    const plan = buildNasnetPlan(networkOptions({ genotype: NASNET_A, dataset: 'fashion-mnist', N: 1, filters: 2 }));
    const model = new NetworkModel(tf, plan, 1);
    const x = new Float32Array(6 * 28 * 28).map((_, i) => Math.sin(i * 0.37) + 0.3);
    const images = tf.tensor4d(x, [6, 28, 28, 1]);
    const before = tf.tidy(() => model.forward(images, { training: false }).logits.arraySync());
    const used = recalibrateBatchNorm(tf, model, [{ x, y: new Int32Array(6), size: 6 }], 100);
    const training = tf.tidy(() => model.forward(images, { training: true }).logits.arraySync()) as number[][];
    const inference = tf.tidy(() => model.forward(images, { training: false }).logits.arraySync()) as number[][];
    assert.equal(used, 6);
    assert.notDeepEqual(before, inference, 'the moving averages were replaced');
    for (let i = 0; i < 6; i++)
      for (let k = 0; k < 10; k++) assert.ok(Math.abs(training[i]![k]! - inference[i]![k]!) < 1e-3, `logit ${i},${k}`);
    images.dispose();
    model.dispose();
  });

  it('given more images than the limit, when recalibrated, then it uses exactly the limit and leaks no tensor', async () => {
    await loadTf('cpu');
    const plan = buildNasnetPlan(networkOptions({ genotype: NASNET_A, dataset: 'fashion-mnist', N: 1, filters: 2 }));
    const model = new NetworkModel(tf, plan, 1);
    const batch = { x: new Float32Array(4 * 28 * 28).map((_, i) => Math.cos(i)), y: new Int32Array(4), size: 4 };
    const tensors = tf.memory().numTensors;
    assert.equal(recalibrateBatchNorm(tf, model, [batch, batch, batch], 10), 10);
    assert.equal(tf.memory().numTensors, tensors);
    model.dispose();
  });

  it('given the same job, when trained with and without recalibration, then training is identical and only evaluation differs', async () => {
    const runner = new JobRunner(await loadTf('wasm'));
    const progress: Record<string, TrainingProgress[]> = { off: [], on: [] };
    const off = await runner.run(job({ batchNormRecalibration: 0 }), {
      signal: new AbortController().signal,
      progress: (p) => progress.off!.push(p),
    });
    const on = await runner.run(job({ batchNormRecalibration: 256 }), {
      signal: new AbortController().signal,
      progress: (p) => progress.on!.push(p),
    });
    assert.deepEqual(off.evaluation, { batchNorm: 'moving-average', recalibrationImages: 0 });
    assert.deepEqual(
      on.evaluation,
      { batchNorm: 'recalibrated', recalibrationImages: 160 },
      'at most the training images there are',
    );
    assert.equal(on.loss, off.loss, 'the same final training loss');
    for (const epoch of [0, 1]) {
      assert.equal(progress.on![epoch]!.metrics.loss, progress.off![epoch]!.metrics.loss, `epoch ${epoch + 1} loss`);
      assert.equal(
        progress.on![epoch]!.metrics.trainAccuracy,
        progress.off![epoch]!.metrics.trainAccuracy,
        `epoch ${epoch + 1} training accuracy`,
      );
    }
    // 10 steps leave momentum-0.9 averages far from the weights' statistics: the lag this fixes
    assert.ok(
      on.validationAccuracy > off.validationAccuracy + 0.05,
      `recalibrated ${on.validationAccuracy} vs moving averages ${off.validationAccuracy}`,
    );
  });
});
