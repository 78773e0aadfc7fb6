import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { decodeActions, DECISIONS } from '../../core/search-space/actions.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { TrainingFailure, type TrainingJob } from '../../core/runtime/trainer-plugin.ts';
import { seededUniform } from '../../core/controller/prng.ts';
import { buildNasnetPlan } from '../../plugins/trainers/network/nasnet-plan.ts';
import { networkOptions } from '../../plugins/trainers/network/network-options.ts';
import { planTotals } from '../../plugins/trainers/network/plan.ts';
import { NetworkModel } from '../../plugins/trainers/tfjs/network-model.ts';
import { TrainerPool } from '../../plugins/trainers/tfjs/pool/trainer-pool.ts';
import { JobRunner } from '../../plugins/trainers/tfjs/run-job.ts';
import { BackendUnavailableError, loadTf } from '../../plugins/trainers/tfjs/tf-runtime.ts';
import { trainSettings } from '../../plugins/trainers/training-settings.ts';

const job = (overrides: Partial<TrainingJob> = {}, settings: Record<string, unknown> = {}): TrainingJob => ({
  experimentId: 'tt',
  sampleId: 'tt-0',
  attempt: 1,
  genotype: NASNET_A,
  network: { N: 1, filters: 4 },
  dataset: 'fashion-mnist-mini',
  epochs: 1,
  seed: 3,
  settings: { maxTrainExamples: 640, batchSize: 32, validationFraction: 0.05, ...settings },
  ...overrides,
});
const context = (signal = new AbortController().signal, progress: (p: unknown) => void = () => undefined) => ({
  signal,
  progress,
});

describe('tfjs network', () => {
  it('holds exactly the parameters the plan counts, and computes logits for any genotype', async () => {
    await loadTf('cpu');
    const uniform = seededUniform('network-test');
    for (let i = 0; i < 3; i++) {
      const genotype = i === 0 ? NASNET_A : decodeActions(DECISIONS.map((d) => Math.floor(uniform() * d.choices)));
      const plan = buildNasnetPlan(
        networkOptions({ genotype, dataset: 'fashion-mnist', N: 1, filters: 2, auxHead: true, dropPath: true }),
      );
      const model = new NetworkModel(tf, plan, 1);
      assert.equal(model.countParameters(), planTotals(plan, { auxHead: true }).params);
      const before = tf.memory().numTensors;
      const out = tf.tidy(() => {
        const result = model.forward(tf.zeros([2, 28, 28, 1]) as tf.Tensor4D, { training: false, aux: true });
        return [result.logits.shape, result.auxLogits!.shape];
      });
      assert.deepEqual(out, [
        [2, 10],
        [2, 10],
      ]);
      assert.equal(tf.memory().numTensors, before, 'no tensor leaks from a forward pass');
      model.dispose();
    }
  });

  it('chooses WebAssembly here and explains a backend that is not installed', async () => {
    const runtime = await loadTf();
    assert.equal(runtime.backend, 'wasm', 'tfjs-node cannot install on this machine, so WASM is the best backend');
    await assert.rejects(loadTf('tensorflow-gpu'), (error: unknown) => {
      assert.ok(error instanceof BackendUnavailableError);
      assert.match(error.message, /backend tensorflow-gpu is not available here: @tensorflow\/tfjs-node-gpu is not installed/);
      return true;
    });
  });

  it('refuses bad training settings, naming the setting and the value', () => {
    assert.throws(() => trainSettings({ batchSize: 0 }), /training setting batchSize .*\(got 0\)/);
    assert.throws(() => trainSettings({ optimizer: 'rmsprop' }), /training setting optimizer .*\(got "rmsprop"\)/);
    assert.throws(() => trainSettings({ momentun: 0.9 }), /training setting momentun is not a known setting/);
  });
});

describe('tfjs training on WebAssembly', () => {
  it('learns Fashion-MNIST well above chance in one short epoch, and reports what it measured', async () => {
    const runner = new JobRunner(await loadTf('wasm'));
    const progress: unknown[] = [];
    const result = await runner.run(
      job(),
      context(undefined, (p) => progress.push(p)),
    );
    assert.ok(result.validationAccuracy > 0.2, `validation accuracy ${result.validationAccuracy}: at least twice chance (0.1)`);
    assert.equal(result.testAccuracy, null, 'the test set is only read when asked');
    assert.equal(result.backend, 'wasm');
    assert.equal(
      result.params,
      planTotals(buildNasnetPlan(networkOptions({ genotype: NASNET_A, dataset: 'fashion-mnist', N: 1, filters: 4 })))
        .trainableParams,
    );
    assert.ok(result.imagesPerSec > 0 && result.seconds > 0 && Number.isFinite(result.loss));
    assert.deepEqual(
      progress.map((p) => (p as { epoch: number }).epoch),
      [1],
    );
  });

  it('stops with a non-retryable failure when the loss stops being finite', async () => {
    const runner = new JobRunner(await loadTf('wasm'));
    await assert.rejects(
      runner.run(job({}, { auxHead: true, auxWeight: 1e39, maxTrainExamples: 64 }), context()),
      (error: unknown) => {
        assert.ok(error instanceof TrainingFailure);
        assert.equal(error.retryable, false);
        assert.match(error.message, /the training loss became (Infinity|NaN) at epoch 1, step 1/);
        return true;
      },
    );
  });

  it('stops promptly when aborted', async () => {
    const runner = new JobRunner(await loadTf('wasm'));
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(), 1500);
    await assert.rejects(runner.run(job({ epochs: 50 }), context(controller.signal)), (error: unknown) => {
      assert.ok(error instanceof TrainingFailure);
      assert.equal(error.name, 'AbortError');
      return true;
    });
    assert.ok(performance.now() - started < 8000, 'aborted within a few steps');
  });
});

describe('trainer pool', () => {
  it('trains children in parallel worker threads and passes aborts to them', async () => {
    const pool = new TrainerPool({ workers: 2, backend: 'wasm' });
    try {
      assert.deepEqual(await pool.describe(), { backend: 'wasm', device: 'CPU (WebAssembly SIMD)', workers: 2 });
      const small = { maxTrainExamples: 64, validationFraction: 0.02 };
      const results = await Promise.all([
        pool.train(job({ sampleId: 'tt-1' }, small), context()),
        pool.train(job({ sampleId: 'tt-2', network: { N: 1, filters: 2 } }, small), context()),
      ]);
      assert.ok(results.every((r) => r.backend === 'wasm' && r.validationAccuracy >= 0 && r.validationAccuracy <= 1));
      assert.ok(results[0]!.params > results[1]!.params, 'each job trained its own network');
      const controller = new AbortController();
      const running = pool.train(job({ sampleId: 'tt-3', epochs: 50 }), context(controller.signal));
      setTimeout(() => controller.abort(), 3000);
      await assert.rejects(running, (error: unknown) => error instanceof TrainingFailure && error.name === 'AbortError');
    } finally {
      await pool.close();
    }
  });
});
