import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { seededUniform } from '../../core/controller/prng.ts';
import { decodeActions, DECISIONS } from '../../core/search-space/actions.ts';
import { OPS, type Block, type Genotype, type Op } from '../../core/search-space/genotype.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { selectExamples } from '../../plugins/datasets/dataset.ts';
import { readIdxSplit } from '../../plugins/datasets/idx.ts';
import { channelStats } from '../../plugins/datasets/normalise.ts';
import { buildNasnetPlan } from '../../plugins/trainers/network/nasnet-plan.ts';
import { networkOptions } from '../../plugins/trainers/network/network-options.ts';
import { PlanBuilder, planTotals, type NetworkPlan } from '../../plugins/trainers/network/plan.ts';
import { NetworkModel } from '../../plugins/trainers/tfjs/network-model.ts';
import { scheduledOptimizer } from '../../plugins/trainers/tfjs/optimizer.ts';
import type { TfRuntime } from '../../plugins/trainers/tfjs/tf-runtime.ts';
import { trainStep } from '../../plugins/trainers/tfjs/train-network.ts';
import { trainSettings } from '../../plugins/trainers/training-settings.ts';
import { torchPython } from '../../plugins/trainers/torch/torch-trainer.ts';
import type { Hello } from '../../plugins/trainers/process/protocol.ts';
import type { TrainingProgress, TrainingResult } from '../../core/runtime/trainer-plugin.ts';

/**
 * The PyTorch reference trainer (plugins/trainers/torch/) against the plan and the tfjs
 * trainer: the same parameters for any genotype, the same logits as tfjs from the same
 * weights (every operation, both stems), the same weights after the same training steps, and
 * the process protocol spoken end to end.
 * Runs where Debian's python3-torch is installed; elsewhere it skips, saying why, unless
 * NASNET_REQUIRE_TORCH=1 (then the missing torch is a failure).
 */
const PYTHON = torchPython();
const TORCH_DIR = fileURLToPath(new URL('../../plugins/trainers/torch/', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MINI = fileURLToPath(new URL('../../plugins/datasets/data/fashion-mnist-mini/', import.meta.url));
// no __pycache__ left in the repository
const ENV = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
const run = promisify(execFile);

function torchMissing(): string | null {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status === 0) return null;
  const why = probe.error ? probe.error.message : probe.stderr.trim().split('\n').at(-1);
  return `${PYTHON} cannot import torch (${why}); apt-get install python3-torch`;
}
const missing = torchMissing();
if (missing && process.env.NASNET_REQUIRE_TORCH === '1') throw new Error(`NASNET_REQUIRE_TORCH=1, but ${missing}`);
const skip = missing ?? false;

/** Runs a helper mode of plan_network.py on a JSON input; returns its JSON output. */
function planNetwork<T>(mode: '--check' | '--forward', input: unknown): T {
  const run = spawnSync(PYTHON, [`${TORCH_DIR}plan_network.py`, mode], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    env: ENV,
    maxBuffer: 1 << 28,
  });
  assert.equal(run.status, 0, `plan_network.py ${mode} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

describe('torch network from a plan', { skip }, () => {
  it('holds exactly the parameters the plan counts and computes both heads, for NASNet-A and 20 random cells', () => {
    const uniform = seededUniform('torch-network-test');
    const plans = Array.from({ length: 21 }, (_, i) => {
      const genotype = i === 0 ? NASNET_A : decodeActions(DECISIONS.map((d) => Math.floor(uniform() * d.choices)));
      return buildNasnetPlan(
        networkOptions({ genotype, dataset: 'fashion-mnist', N: 1, filters: 2, auxHead: true, dropPath: true }),
      );
    });
    type Check = {
      mainTrainableParams: number;
      trainableParams: number;
      params: number;
      logits: number[];
      auxLogits: number[] | null;
    };
    const checks = planNetwork<Check[]>('--check', plans);
    plans.forEach((plan, i) => {
      const withAux = planTotals(plan, { auxHead: true });
      const label = `network ${i}`;
      assert.equal(
        checks[i]!.mainTrainableParams,
        planTotals(plan).trainableParams,
        `${label}: main head's trainable parameters`,
      );
      assert.equal(checks[i]!.trainableParams, withAux.trainableParams, `${label}: with the auxiliary head`);
      assert.equal(checks[i]!.params, withAux.params, `${label}: with batch norm's moving statistics`);
      assert.deepEqual(checks[i]!.logits, [2, plan.nodes[plan.logits]!.shape[2]]);
      assert.deepEqual(checks[i]!.auxLogits, [2, plan.nodes[plan.auxLogits!]!.shape[2]]);
    });
  });

  it("computes tfjs's logits from tfjs's weights: every operation at stride 1 and 2, both stems, training and inference mode", async () => {
    await tf.setBackend('cpu');
    const everyBlock = (op: Op): Genotype => {
      // inputs 0 and 1 at every block: each use of the op reads a cell input (stride 2 in a reduction cell)
      const cell = [0, 1, 2, 3, 4].map(
        (k): Block => [op, k % 2, op, 1 - (k % 2), k === 1 ? 'concat' : 'add'],
      ) as Genotype['normal'];
      return { normal: cell, reduction: cell };
    };
    const networks: Array<[string, Genotype, 'small' | 'imagenet', number]> = [
      ...OPS.map((op): [string, Genotype, 'small', number] => [op, everyBlock(op), 'small', 16]),
      ['NASNet-A, 28×28', NASNET_A, 'small', 28],
      ['NASNet-A, ImageNet stem', NASNET_A, 'imagenet', 40],
    ];
    const cases: unknown[] = [];
    const expected: Array<Record<string, Float32Array>> = [];
    for (const [, genotype, stem, size] of networks) {
      const plan = buildNasnetPlan({
        genotype,
        N: 1,
        filters: 2,
        imageShape: [size, size, stem === 'small' ? 1 : 3],
        classes: 5,
        stem,
        stemFilters: 6,
        auxHead: true,
        dropPath: true,
      });
      const { weights, x, outputs } = tfjsReference(plan);
      cases.push({ plan, weights, input: x });
      expected.push(outputs);
    }
    const got = planNetwork<Array<Record<string, string>>>('--forward', cases);
    networks.forEach(([name], i) => {
      for (const key of ['logits', 'auxLogits', 'inference']) {
        const want = expected[i]![key]!;
        const have = decode(got[i]![key]!);
        assert.equal(have.length, want.length, `${name}, ${key}: size`);
        const scale = Math.max(1, ...Array.from(want, Math.abs));
        // float32 rounding in different summation orders: measured at most 6.1e-6 of the scale
        want.forEach((v, j) =>
          assert.ok(Math.abs(have[j]! - v) <= 5e-5 * scale, `${name}, ${key}[${j}]: torch ${have[j]}, tfjs ${v}`),
        );
      }
    });
  });
});

describe('torch training step', { skip }, () => {
  it("updates tfjs's weights as tfjs's trainStep does: SGD with momentum and a cosine rate, Adam at a constant rate, auxiliary head, L2", async () => {
    await tf.setBackend('cpu');
    const plan = smoothPlan();
    const runtime = {
      tf,
      memory: { stepBytes: 1e12, tensorBytes: 1e12 },
      errorScope: () => async () => null,
    } as unknown as TfRuntime;
    const labels = [0, 1, 2, 3, 4, 0, 1, 2];
    const steps = 3;
    const runs = [
      trainSettings({
        optimizer: 'sgd',
        learningRate: 0.1,
        momentum: 0.9,
        weightDecay: 0.01,
        auxWeight: 0.4,
        learningRateSchedule: 'cosine',
      }),
      trainSettings({
        optimizer: 'adam',
        learningRate: 0.01,
        weightDecay: 0.01,
        auxWeight: 0.4,
        learningRateSchedule: 'constant',
      }),
    ];
    const cases: unknown[] = [];
    const expected: Array<Record<string, Record<string, Float32Array>>> = [];
    for (const settings of runs) {
      const model = new NetworkModel(tf, plan, 11);
      const weights = (model as unknown as { weights: Map<number, Record<string, tf.Variable>> }).weights;
      const x = tf.randomNormal([labels.length, 8, 8, 2], 0, 1, 'float32', 5);
      cases.push({ plan, settings, weights: exportWeights(weights), input: encode(x), labels, steps });
      const batch = { x: x.dataSync() as Float32Array, y: Int32Array.from(labels), size: labels.length };
      const { optimizer, schedule } = scheduledOptimizer(tf, settings);
      for (let step = 0; step < steps; step++) {
        schedule(step / steps);
        await trainStep(runtime, model, optimizer, batch, settings, step / steps, step);
      }
      expected.push(
        Object.fromEntries(
          [...weights].map(([id, w]) => [
            id,
            Object.fromEntries(
              ['kernel', 'bias', 'gamma', 'beta'].filter((k) => w[k]).map((k) => [k, w[k]!.dataSync() as Float32Array]),
            ),
          ]),
        ),
      );
      model.dispose();
      optimizer.dispose();
    }
    const run = spawnSync(PYTHON, [`${TORCH_DIR}training.py`, '--steps'], {
      input: JSON.stringify(cases),
      encoding: 'utf8',
      env: ENV,
      maxBuffer: 1 << 28,
    });
    assert.equal(run.status, 0, run.stderr);
    const got = JSON.parse(run.stdout) as Array<Record<string, Record<string, string>>>;
    runs.forEach((settings, i) => {
      assert.deepEqual(Object.keys(got[i]!).sort(), Object.keys(expected[i]!).sort(), 'the same weighted nodes');
      for (const [id, vars] of Object.entries(expected[i]!)) {
        assert.deepEqual(Object.keys(got[i]![id]!).sort(), Object.keys(vars).sort());
        for (const [key, want] of Object.entries(vars)) {
          const have = decode(got[i]![id]![key]!);
          // float32 in different summation orders through three updates: at most 2.1e-6 measured (Adam
          // on a batch-norm offset); Adam's epsilon at 1e-8 instead of tfjs's 1e-7 moves it by 6e-5
          want.forEach((v, j) =>
            assert.ok(
              Math.abs(have[j]! - v) <= 1e-5,
              `${settings.optimizer}: node ${id} ${key}[${j}] is ${have[j]} after torch's steps, ${v} after tfjs's`,
            ),
          );
        }
      }
    });
  });
});

/**
 * A small network for comparing training steps: convolutions (same and valid), a depthwise
 * convolution at stride 2, batch norm, an average pool, the dense heads and an auxiliary head.
 * No ReLU or max pooling: both kink, so one element rounded to the other side of 0 in one
 * framework moves a whole weight's gradient (seen on NASNet cells: 4% on one batch-norm offset).
 * No 'same' average pooling either: tfjs's gradient weighs a window that hangs over the border
 * by 1/k² although its forward pass divides by the pixels inside (plugins/trainers/tfjs/
 * wasm-kernels/pooling.ts); PyTorch's gradient, like TensorFlow's, is that forward's.
 */
function smoothPlan(): NetworkPlan {
  const b = new PlanBuilder();
  const input = b.add({ kind: 'input' }, [8, 8, 2]);
  const conv = (from: number, filters: number, kernel: number, padding: 'same' | 'valid') =>
    b.add({
      kind: 'batchnorm',
      input: b.add({
        kind: 'conv',
        input: from,
        filters,
        kernel: [kernel, kernel],
        stride: 1,
        dilation: 1,
        padding,
        bias: false,
      }),
    });
  const first = conv(input, 4, 3, 'same');
  const depthwise = b.add({ kind: 'depthwise', input: first, kernel: 3, stride: 2, dilation: 1, padding: 'same' });
  const head = (from: number) => b.add({ kind: 'dense', input: b.add({ kind: 'globalAvgPool', input: from }), units: 5 });
  const logits = head(conv(depthwise, 6, 1, 'same'));
  const auxLogits = head(
    conv(b.add({ kind: 'pool', input: first, type: 'avg', size: 2, stride: 2, padding: 'valid' }), 3, 3, 'valid'),
  );
  return { nodes: b.nodes, input, features: logits, logits, auxLogits, cells: 1 };
}

const decode = (data: string) => new Float32Array(new Uint8Array(Buffer.from(data, 'base64')).buffer);

function exportWeights(weights: Map<number, Record<string, tf.Variable>>) {
  return Object.fromEntries(
    [...weights].map(([id, vars]) => [id, Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, encode(v)]))]),
  );
}

const encode = (t: tf.Tensor) => ({
  shape: t.shape,
  data: Buffer.from((t.dataSync() as Float32Array).slice().buffer).toString('base64'),
});

/** A tfjs network with random batch-norm statistics: its variables, an input and its logits. */
function tfjsReference(plan: NetworkPlan) {
  const model = new NetworkModel(tf, plan, 7);
  const weights = (model as unknown as { weights: Map<number, Record<string, tf.Variable>> }).weights;
  model.setBatchNormStatistics(
    [...weights].flatMap(([node, w]) =>
      w.movingMean
        ? [
            {
              node,
              mean: tf.randomNormal(w.movingMean.shape, 0, 0.3, 'float32', node),
              variance: tf.randomUniform(w.movingMean.shape, 0.5, 2, 'float32', node),
            },
          ]
        : [],
    ),
  );
  const [h, w, c] = plan.nodes[plan.input]!.shape;
  const x = tf.randomNormal([4, h, w, c], 0, 1, 'float32', 3) as tf.Tensor4D;
  const training = model.forward(x, { training: true, aux: true });
  const outputs = {
    logits: training.logits.dataSync() as Float32Array,
    auxLogits: training.auxLogits!.dataSync() as Float32Array,
    inference: model.forward(x, { training: false }).logits.dataSync() as Float32Array,
  };
  const exported = { weights: exportWeights(weights), x: encode(x), outputs };
  model.dispose();
  return exported;
}

/** A job line as the process trainer's runtime writes it, on 192 fashion-mnist-mini examples. */
function jobLine(overrides: { format?: string } = {}) {
  const settings = trainSettings({
    epochs: 2,
    batchSize: 32,
    optimizer: 'adam',
    learningRate: 0.01,
    seed: 5,
    dataSeed: 9,
    auxHead: true,
    dropPath: 0.2,
  });
  const plan = buildNasnetPlan(
    networkOptions({ genotype: NASNET_A, dataset: 'fashion-mnist', N: 1, filters: 2, auxHead: true, dropPath: true }),
  );
  const files = {
    format: 'idx',
    trainImages: `${MINI}train-images-idx3-ubyte.gz`,
    trainLabels: `${MINI}train-labels-idx1-ubyte.gz`,
    testImages: `${MINI}t10k-images-idx3-ubyte.gz`,
    testLabels: `${MINI}t10k-labels-idx1-ubyte.gz`,
  };
  const trainIndices = Array.from({ length: 128 }, (_, i) => i);
  const validationIndices = Array.from({ length: 64 }, (_, i) => 128 + i);
  const stats = channelStats(selectExamples(readIdxSplit(files.trainImages, files.trainLabels, 10), trainIndices));
  const totals = planTotals(plan);
  const job = {
    experimentId: 'torch-test',
    sampleId: 'torch-test-0',
    attempt: 1,
    genotype: NASNET_A,
    epochs: 2,
    seed: 5,
    dataSeed: 9,
    settings,
    plan,
    params: totals.trainableParams,
    multAdds: totals.multAdds,
    data: {
      format: overrides.format ?? 'idx',
      files,
      imageShape: [28, 28, 1],
      classes: 10,
      trainIndices,
      validationIndices,
      mean: stats.mean,
      std: stats.std,
      augment: { padding: 2, flip: false },
    },
  };
  return { line: `${JSON.stringify({ protocol: 1, job })}\n`, totals };
}

describe('torch trainer process (protocol 1)', { skip }, () => {
  it('says hello, trains two jobs in one process alike, fails a bad one without dying, and exits 0 at EOF', async () => {
    const child = spawn(PYTHON, [`${TORCH_DIR}nasnet_torch_trainer.py`], {
      cwd: ROOT,
      env: { ...ENV, NASNET_TORCH_DEVICE: 'cpu' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    // One line of the protocol with every kind optional, so each assertion reads the kind it expects.
    type AnyLine = {
      hello: Hello;
      progress: TrainingProgress;
      result: TrainingResult;
      failure: { message: string; retryable: boolean };
    };
    const next = async (): Promise<AnyLine> => {
      const { value, done } = await lines.next();
      assert.ok(!done, `the trainer closed stdout early; stderr: ${stderr}`);
      return JSON.parse(value as string) as AnyLine;
    };
    try {
      const hello = await next();
      assert.deepEqual(
        { ...hello.hello, device: typeof hello.hello.device },
        { protocol: 1, name: 'torch', backend: 'pytorch', device: 'string', jobs: 'many' },
      );
      assert.match(hello.hello.device ?? '', /^CPU \(PyTorch [^,]+, \d+ threads?\)$/);

      const { line, totals } = jobLine();
      const results = [];
      for (let run = 0; run < 2; run++) {
        child.stdin.write(line);
        const progress = [await next(), await next()];
        assert.deepEqual(
          progress.map((p) => [p.progress.epoch, p.progress.epochs]),
          [
            [1, 2],
            [2, 2],
          ],
        );
        assert.ok(
          'validationAccuracy' in progress[0]!.progress.metrics && !('validationAccuracy' in progress[1]!.progress.metrics),
          'validation accuracy every epoch but the last',
        );
        const { result } = await next();
        assert.ok(result, 'a result line');
        assert.equal(result.params, totals.trainableParams);
        assert.equal(result.multAdds, totals.multAdds);
        assert.ok(result.validationAccuracy >= 0 && result.validationAccuracy <= 1);
        assert.equal(result.testAccuracy, null);
        assert.ok(Number.isFinite(result.loss) && result.seconds > 0 && result.imagesPerSec > 0);
        assert.equal(result.backend, 'pytorch');
        assert.equal(result.device, hello.hello.device);
        assert.deepEqual(result.evaluation, { batchNorm: 'recalibrated', recalibrationImages: 128 });
        results.push(result);
      }
      assert.deepEqual(
        [results[1]!.loss, results[1]!.validationAccuracy],
        [results[0]!.loss, results[0]!.validationAccuracy],
        'the same job repeats exactly on the CPU',
      );

      child.stdin.write(jobLine({ format: 'tfrecord' }).line);
      const { failure } = await next();
      assert.deepEqual(failure, { message: 'data.format must be "idx" or "cifar10" (got "tfrecord")', retryable: false });

      child.stdin.end();
      const [code] = await once(child, 'exit');
      assert.equal(code, 0, stderr);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('nasnet search --trainer torch', { skip }, () => {
  it('runs the tiny preset end to end on PyTorch, and audit and replay work on it', { timeout: 180_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nasnet-torch-'));
    try {
      const store = `sqlite:${join(dir, 'torch.db')}`;
      const nasnet = (...args: string[]) =>
        run(process.execPath, [join(ROOT, 'cli/nasnet.js'), ...args], { env: ENV, maxBuffer: 1 << 26 });
      const search = await nasnet(
        'search',
        '--trainer',
        'torch',
        '--preset',
        'tiny',
        '--store',
        store,
        '--experiment-id',
        'pt',
        '--json',
      );
      const summary = JSON.parse(search.stdout.trim().split('\n').at(-1)!) as {
        status: string;
        completed: number;
        bestReward: number;
      };
      assert.equal(summary.status, 'completed');
      assert.equal(summary.completed, 8);
      assert.ok(summary.bestReward > 0.2, `best validation accuracy ${summary.bestReward} beats chance (0.1)`);
      const events = await nasnet('events', '--store', store, '--type', 'TrainingCompleted');
      for (const line of events.stdout.trim().split('\n')) {
        const data = (JSON.parse(line) as { data: { backend: string; device: string; evaluation: unknown } }).data;
        assert.equal(data.backend, 'pytorch');
        assert.match(data.device, /^(CPU \(PyTorch|CUDA )/);
        assert.deepEqual(data.evaluation, { batchNorm: 'recalibrated', recalibrationImages: 384 });
      }
      const audit = await nasnet('audit', 'pt', '--store', store, '--json');
      assert.equal((JSON.parse(audit.stdout) as { ok: boolean }).ok, true);
      await nasnet('replay', '--store', store);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
