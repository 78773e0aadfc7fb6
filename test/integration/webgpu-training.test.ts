import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Genotype } from '../../core/search-space/genotype.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { buildNasnetPlan } from '../../plugins/trainers/network/nasnet-plan.ts';
import { NetworkModel } from '../../plugins/trainers/tfjs/network-model.ts';
import { scheduledOptimizer } from '../../plugins/trainers/tfjs/optimizer.ts';
import { JobRunner } from '../../plugins/trainers/tfjs/run-job.ts';
import { trainStep } from '../../plugins/trainers/tfjs/train-network.ts';
import { trainSettings } from '../../plugins/trainers/training-settings.ts';
import { isSoftwareAdapter } from '../../plugins/trainers/tfjs/webgpu-adapter.ts';
import { webgpuForTests } from '../support/webgpu.ts';

/**
 * Training on the webgpu backend: a short training whose loss falls, memory and compiled
 * pipelines that stay flat step after step, and a search end to end through the CLI. On the
 * software adapter CI has (lavapipe) a step is ~10× slower than on WASM, so the networks and
 * image counts are small.
 */
const { runtime, skip } = await webgpuForTests();
const NASNET = fileURLToPath(new URL('../../cli/nasnet.js', import.meta.url));
const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), 'nasnet-webgpu-'));
after(() => rm(dir, { recursive: true, force: true }));

/** How many compute pipelines the backend has compiled (tfjs keeps them by shader key). */
const pipelines = (): number => Object.keys((runtime!.tf.backend() as unknown as { pipelineCache: object }).pipelineCache).length;

describe('webgpu adapters', () => {
  it('counts CPU rasterisers as software, whatever they call themselves', () => {
    const info = { vendor: 'mesa', architecture: '', device: '', description: '' };
    assert.equal(isSoftwareAdapter({ ...info, isFallbackAdapter: true }), true);
    assert.equal(isSoftwareAdapter({ ...info, description: 'llvmpipe: Mesa 25.0.7' }), true);
    assert.equal(isSoftwareAdapter({ ...info, vendor: 'google', device: 'SwiftShader Device (Subzero)' }), true);
    assert.equal(
      isSoftwareAdapter({
        vendor: 'nvidia',
        architecture: 'hopper',
        device: '',
        description: 'NVIDIA H200',
        isFallbackAdapter: false,
      }),
      false,
    );
  });
});

describe('training on the webgpu backend', { skip }, () => {
  it('reports the adapter it trains on and how much a tensor may hold', () => {
    assert.equal(runtime!.backend, 'webgpu');
    assert.ok(runtime!.adapter, 'the adapter is described');
    assert.ok(runtime!.device.length > 0);
    assert.equal(
      runtime!.memory.tensorBytes,
      Math.min(runtime!.adapter!.limits.maxStorageBufferBindingSize, runtime!.adapter!.limits.maxBufferSize),
    );
  });

  it('keeps tensors, memory and compiled pipelines flat over 50 steps, while the loss falls', async () => {
    const { tf } = runtime!;
    await tf.setBackend('webgpu');
    // one op of each kind (pooling, separable conv, identity) keeps the ~1 s steps of lavapipe few
    const cell: Genotype['normal'] = [
      ['sep_conv3x3', 0, 'identity', 1, 'add'],
      ['max_pool3x3', 0, 'identity', 2, 'add'],
      ['identity', 0, 'identity', 1, 'add'],
      ['identity', 0, 'identity', 1, 'add'],
      ['identity', 0, 'identity', 1, 'add'],
    ];
    const genotype: Genotype = { normal: cell, reduction: cell };
    const plan = buildNasnetPlan({
      genotype,
      N: 1,
      filters: 2,
      imageShape: [8, 8, 1],
      classes: 4,
      stem: 'small',
      stemFilters: 6,
      auxHead: true,
      dropPath: true,
    });
    const model = new NetworkModel(tf, plan, 1);
    const settings = trainSettings(
      {},
      { epochs: 1, seed: 1 },
      { optimizer: 'adam', learningRate: 0.01, dropPath: 0.2, auxWeight: 0.4 },
    );
    const { optimizer } = scheduledOptimizer(tf, settings);
    const batch = {
      x: Float32Array.from({ length: 8 * 64 }, (_, i) => Math.sin(i * 0.37)),
      y: Int32Array.from({ length: 8 }, (_, i) => i % 4),
      size: 8,
    };
    const losses: number[] = [];
    const step = async (s: number) => losses.push((await trainStep(runtime!, model, optimizer, batch, settings, s / 50, s)).loss);
    // the first two steps create the optimizer's slots and compile every pipeline
    await step(0);
    await step(1);
    const tensors = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    const compiled = pipelines();
    for (let s = 2; s < 50; s++) {
      await step(s);
      assert.equal(tf.memory().numTensors, tensors, `step ${s + 1} left tensors behind`);
      assert.equal(tf.memory().numBytes, bytes, `step ${s + 1} left memory behind`);
      assert.equal(pipelines(), compiled, `step ${s + 1} compiled a new pipeline`);
    }
    assert.ok(losses.at(-1)! < losses[0]! * 0.5, `one batch learnt by heart: loss ${losses[0]} → ${losses.at(-1)}`);
    model.dispose();
    optimizer.dispose();
  });

  it('trains a child on Fashion-MNIST to better than chance, with batch norm recalibrated', async () => {
    const runner = new JobRunner(runtime!);
    const progress: number[] = [];
    const result = await runner.run(
      {
        experimentId: 'gpu',
        sampleId: 'gpu-0',
        attempt: 1,
        genotype: NASNET_A,
        network: { N: 1, filters: 2 },
        dataset: 'fashion-mnist-mini',
        epochs: 2,
        seed: 3,
        settings: {
          maxTrainExamples: 128,
          batchSize: 32,
          validationFraction: 0.02,
          optimizer: 'adam',
          learningRate: 0.01,
          batchNormRecalibration: 128,
        },
      },
      { signal: new AbortController().signal, progress: (p) => progress.push(p.metrics.loss!) },
    );
    assert.equal(result.backend, 'webgpu');
    assert.equal(result.device, runtime!.device);
    assert.deepEqual(result.evaluation, { batchNorm: 'recalibrated', recalibrationImages: 128 });
    assert.ok(progress[1]! < progress[0]!, `the loss falls from epoch to epoch: ${progress.join(' → ')}`);
    assert.ok(result.validationAccuracy > 0.2, `validation accuracy ${result.validationAccuracy} beats chance (0.1)`);
  });

  it('nasnet search --backend webgpu runs a tiny search end to end, and the audit passes', { timeout: 600_000 }, async () => {
    const store = `sqlite:${join(dir, 'gpu.db')}`;
    const config = join(dir, 'gpu.json');
    await writeFile(
      config,
      JSON.stringify({
        training: {
          optimizer: 'adam',
          learningRate: 0.01,
          batchSize: 32,
          maxTrainExamples: 64,
          validationFraction: 0.02,
          batchNormRecalibration: 64,
        },
      }),
    );
    const flags = [
      '--preset',
      'tiny',
      '--backend',
      'webgpu',
      '--config',
      config,
      '--samples',
      '2',
      '--batch',
      '2',
      '--workers',
      '1',
      '--store',
      store,
      '--experiment-id',
      'gpu',
    ];
    const search = await run(process.execPath, [NASNET, 'search', ...flags, '--json'], { maxBuffer: 1 << 26 });
    const summary = JSON.parse(search.stdout.trim().split('\n').at(-1)!) as { status: string; completed: number; failed: number };
    assert.equal(summary.status, 'completed');
    assert.equal(summary.completed, 2, `every child trained (${summary.failed} failed)`);
    const events = await run(process.execPath, [NASNET, 'events', '--store', store, '--type', 'TrainingCompleted']);
    const completed = events.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { data: { backend: string; device: string } }).data);
    assert.ok(completed.length >= 1);
    for (const data of completed) {
      assert.equal(data.backend, 'webgpu');
      assert.equal(data.device, runtime!.device, 'the event records the adapter trained on');
    }
    const audit = await run(process.execPath, [NASNET, 'audit', 'gpu', '--store', store, '--json']);
    assert.equal((JSON.parse(audit.stdout) as { ok: boolean }).ok, true);
  });
});
