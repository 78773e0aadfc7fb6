/**
 * Training speed of the tfjs trainer's child network on every backend that loads here, next
 * to the same network (built from the same plan) in PyTorch, plus worker-pool throughput.
 *   npm run bench:train -- --json [--filters 16,32] [--steps 5] [--backends wasm,cpu,...]
 * Network: NASNet-A cells, N = 1, first-stack filters F, 28×28×1 input, batch 64, SGD with
 * momentum, random data. Prints one JSON object.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { NASNET_A } from '../core/search-space/nasnet-a.ts';
import { buildNasnetPlan } from '../plugins/trainers/network/nasnet-plan.ts';
import { networkOptions } from '../plugins/trainers/network/network-options.ts';
import { planTotals, type NetworkPlan } from '../plugins/trainers/network/plan.ts';
import { NetworkModel } from '../plugins/trainers/tfjs/network-model.ts';
import { TrainerPool } from '../plugins/trainers/tfjs/pool/trainer-pool.ts';
import { BACKENDS, BackendUnavailableError, loadTf, type BackendChoice, type TfRuntime } from '../plugins/trainers/tfjs/tf-runtime.ts';
import { trainStep } from '../plugins/trainers/tfjs/train-network.ts';

const { values } = parseArgs({
  options: {
    filters: { type: 'string', default: '16,32' },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    batch: { type: 'string', default: '64' },
    backends: { type: 'string', default: BACKENDS.join(',') },
    'cpu-steps': { type: 'string', default: '1' },
    'cpu-batch': { type: 'string', default: '4' },
    'pool-examples': { type: 'string', default: '640' },
    'no-pool': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const filtersList = values.filters!.split(',').map(Number);
const batchSize = Number(values.batch);
const steps = Number(values.steps);
const warmup = Number(values.warmup);

const planFor = (filters: number): NetworkPlan =>
  buildNasnetPlan(networkOptions({ genotype: NASNET_A, dataset: 'fashion-mnist', N: 1, filters }));

interface Row {
  backend: string;
  batchSize: number;
  device?: string;
  threads: number;
  filters: number;
  params: number;
  imagesPerSec: number;
  msPerImage: number;
  steps: number;
}

function timeTfjs(runtime: TfRuntime, filters: number, measuredSteps: number, batchSize: number, warmup: number): Row {
  const { tf } = runtime;
  const plan = planFor(filters);
  const model = new NetworkModel(tf, plan, 1);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const x = new Float32Array(batchSize * 28 * 28).map((_, i) => Math.sin(i));
  const y = new Int32Array(batchSize).map((_, i) => i % 10);
  const settings = { auxWeight: 0, seed: 1, dropPath: 0, weightDecay: 0 };
  try {
    for (let s = 0; s < Math.min(warmup, measuredSteps); s++) trainStep(runtime, model, optimizer, { x, y, size: batchSize }, settings, 0, s);
    const start = performance.now();
    for (let s = 0; s < measuredSteps; s++) trainStep(runtime, model, optimizer, { x, y, size: batchSize }, settings, 0, s);
    const seconds = (performance.now() - start) / 1000;
    const images = measuredSteps * batchSize;
    return {
      backend: runtime.backend,
      device: runtime.device,
      batchSize,
      threads: 1,
      filters,
      params: planTotals(plan).trainableParams,
      imagesPerSec: round(images / seconds),
      msPerImage: round((1000 * seconds) / images),
      steps: measuredSteps,
    };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

function timeTorch(filters: number, threads: number): Row | null {
  const script = fileURLToPath(new URL('./torch_child.py', import.meta.url));
  const run = spawnSync('/usr/bin/python3', [script, '--threads', String(threads), '--steps', String(steps), '--warmup', String(warmup), '--batch', String(batchSize)], {
    input: JSON.stringify(planFor(filters)),
    encoding: 'utf8',
  });
  if (run.status !== 0) return null;
  const out = JSON.parse(run.stdout) as { imagesPerSec: number; msPerImage: number; params: number };
  return { backend: 'pytorch', batchSize, threads, filters, params: out.params, imagesPerSec: round(out.imagesPerSec), msPerImage: round(out.msPerImage), steps };
}

function torchAvailable(): string | null {
  try {
    return execFileSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

async function poolThroughput(workers: number, backend: BackendChoice): Promise<{ workers: number; imagesPerSec: number; seconds: number; jobs: number }> {
  const examples = Number(values['pool-examples']);
  const pool = new TrainerPool({ workers, backend, defaults: { maxTrainExamples: examples, batchSize, validationFraction: 0.02, augment: false } });
  try {
    await pool.describe();
    const jobs = 2;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: jobs }, (_, i) =>
        pool.train(
          { experimentId: 'bench', sampleId: `bench-${i}`, attempt: 1, genotype: NASNET_A, network: { N: 1, filters: filtersList[0]! }, dataset: 'fashion-mnist-mini', epochs: 1, seed: i + 1 },
          { signal: new AbortController().signal, progress: () => undefined },
        ),
      ),
    );
    const seconds = (performance.now() - start) / 1000;
    return { workers, jobs, seconds: round(seconds), imagesPerSec: round((jobs * examples) / seconds) };
  } finally {
    await pool.close();
  }
}

const round = (x: number) => Number(x.toPrecision(4));
const results: Row[] = [];
const notRun: Record<string, string> = {};
for (const backend of values.backends!.split(',') as BackendChoice[]) {
  let runtime: TfRuntime;
  try {
    runtime = await loadTf(backend);
  } catch (error) {
    if (!(error instanceof BackendUnavailableError)) throw error;
    notRun[backend] = error.message;
    continue;
  }
  for (const filters of filtersList) {
    // The pure-JS backend takes seconds per image: one small step, on the smallest network.
    if (backend === 'cpu') {
      if (filters === filtersList[0]) results.push(timeTfjs(runtime, filters, Number(values['cpu-steps']), Number(values['cpu-batch']), 0));
      continue;
    }
    results.push(timeTfjs(runtime, filters, steps, batchSize, warmup));
  }
}
const torchVersion = torchAvailable();
if (torchVersion) {
  for (const filters of filtersList) {
    for (const threads of [...new Set([1, cpus().length])]) {
      const row = timeTorch(filters, threads);
      if (row) results.push(row);
    }
  }
} else {
  notRun.pytorch = "/usr/bin/python3 -c 'import torch' failed (apt-get install python3-torch)";
}
const ratios = filtersList.map((filters) => {
  const wasm = results.find((r) => r.backend === 'wasm' && r.filters === filters);
  const torch = results.find((r) => r.backend === 'pytorch' && r.filters === filters && r.threads === 1);
  return { filters, wasmVsPytorchOneThread: wasm && torch ? round(wasm.imagesPerSec / torch.imagesPerSec) : null };
});
let pool: unknown = null;
if (!values['no-pool'] && results.some((r) => r.backend === 'wasm')) {
  const one = await poolThroughput(1, 'wasm');
  const two = await poolThroughput(2, 'wasm');
  pool = { backend: 'wasm', filters: filtersList[0], one, two, speedup: round(two.imagesPerSec / one.imagesPerSec) };
}
const output = {
  results,
  ratios,
  pool,
  notRun,
  settings: { network: 'NASNet-A cells, N = 1, 28×28×1, 10 classes', batchSize, steps, warmup, optimizer: 'SGD momentum 0.9', data: 'random' },
  machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', pytorch: torchVersion },
};
console.log(values.json ? JSON.stringify(output) : JSON.stringify(output, null, 2));
process.exit(0);
