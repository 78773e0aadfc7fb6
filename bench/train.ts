/**
 * Training speed of the tfjs trainer's child network on every backend that loads here, next
 * to the same network (built from the same plan) in PyTorch, plus worker-pool throughput.
 *   npm run bench:train -- --json [--filters 16,32] [--steps 5] [--backends wasm,webgpu,cpu,...]
 *     [--torch-device cpu|cuda]
 * Network: NASNet-A cells, N = 1, first-stack filters F, 28×28×1 input, batch 64, SGD with
 * momentum, random data. Prints one JSON object.
 *
 * Each step ends with an asynchronous read of its loss, so a GPU backend's queue is drained
 * inside the timed step. Slow devices get a token measurement, one step on the smallest
 * network, so that a default run stays short: the pure-JS backend (--cpu-steps, --cpu-batch),
 * and WebGPU on a software adapter such as Mesa's lavapipe, which runs shaders on the CPU
 * (--software-steps, --software-batch, after one warm-up step that compiles the shaders).
 * WebGPU on a hardware adapter is timed like WASM. A webgpu row names its adapter in
 * `device` and describes it in `adapter`.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { NASNET_A } from '../core/search-space/nasnet-a.ts';
import { TrainerPool } from '../plugins/trainers/tfjs/pool/trainer-pool.ts';
import {
  BACKENDS,
  BackendUnavailableError,
  loadTf,
  type BackendChoice,
  type TfRuntime,
} from '../plugins/trainers/tfjs/tf-runtime.ts';
import type { AdapterDescription } from '../plugins/trainers/tfjs/webgpu-adapter.ts';
import { torchPython } from '../plugins/trainers/torch/torch-trainer.ts';
import { nasnetPlan, round, timeTfjsSteps, timeTorchSteps } from './child-speed.ts';

const { values } = parseArgs({
  options: {
    filters: { type: 'string', default: '16,32' },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    batch: { type: 'string', default: '64' },
    backends: { type: 'string', default: BACKENDS.join(',') },
    'cpu-steps': { type: 'string', default: '1' },
    'cpu-batch': { type: 'string', default: '4' },
    'software-steps': { type: 'string', default: '1' },
    'software-batch': { type: 'string', default: '8' },
    'torch-device': { type: 'string', default: 'cpu' },
    'pool-examples': { type: 'string', default: '640' },
    'no-pool': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const filtersList = values.filters!.split(',').map(Number);
const batchSize = Number(values.batch);
const steps = Number(values.steps);
const warmup = Number(values.warmup);
const torchDevice = values['torch-device']!;
/** The Python the torch trainer uses: its twin here must run where that one does. */
const PYTHON = torchPython();
if (torchDevice !== 'cpu' && torchDevice !== 'cuda')
  throw new RangeError(`--torch-device must be cpu or cuda (got ${torchDevice})`);

interface Row {
  backend: string;
  batchSize: number;
  device?: string;
  /** The WebGPU adapter, limits left out (webgpu rows only). */
  adapter?: Omit<AdapterDescription, 'limits'>;
  threads: number;
  filters: number;
  params: number;
  imagesPerSec: number;
  msPerImage: number;
  steps: number;
}

async function timeTfjs(
  runtime: TfRuntime,
  filters: number,
  measuredSteps: number,
  batchSize: number,
  warmup: number,
): Promise<Row> {
  const timing = await timeTfjsSteps(runtime, nasnetPlan(1, filters), {
    steps: measuredSteps,
    warmup: Math.min(warmup, measuredSteps),
    batchSize,
  });
  return {
    backend: runtime.backend,
    device: runtime.device,
    ...(runtime.adapter ? { adapter: adapterSummary(runtime.adapter) } : {}),
    batchSize,
    threads: 1,
    filters,
    params: timing.params,
    imagesPerSec: timing.imagesPerSec,
    msPerImage: timing.msPerImage,
    steps: measuredSteps,
  };
}

function adapterSummary({
  vendor,
  architecture,
  device,
  description,
  software,
}: AdapterDescription): Omit<AdapterDescription, 'limits'> {
  return { vendor, architecture, device, description, software };
}

function timeTorch(filters: number, threads: number): Row | null {
  const timing = timeTorchSteps(nasnetPlan(1, filters), {
    python: PYTHON,
    device: torchDevice as 'cpu' | 'cuda',
    threads,
    steps,
    warmup,
    batchSize,
  });
  if ('error' in timing) return null;
  const device =
    torchDevice === 'cuda' ? `${timing.deviceName} (PyTorch CUDA)` : `CPU (PyTorch, ${threads} thread${threads > 1 ? 's' : ''})`;
  return {
    backend: 'pytorch',
    device,
    batchSize,
    threads,
    filters,
    params: timing.params,
    imagesPerSec: timing.imagesPerSec,
    msPerImage: timing.msPerImage,
    steps,
  };
}

function torchAvailable(): string | null {
  try {
    return execFileSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

async function poolThroughput(
  workers: number,
  backend: BackendChoice,
): Promise<{ workers: number; imagesPerSec: number; seconds: number; jobs: number }> {
  const examples = Number(values['pool-examples']);
  const pool = new TrainerPool({
    workers,
    backend,
    defaults: { maxTrainExamples: examples, batchSize, validationFraction: 0.02, augment: false },
  });
  try {
    await pool.describe();
    const jobs = 2;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: jobs }, (_, i) =>
        pool.train(
          {
            experimentId: 'bench',
            sampleId: `bench-${i}`,
            attempt: 1,
            genotype: NASNET_A,
            network: { N: 1, filters: filtersList[0]! },
            dataset: 'fashion-mnist-mini',
            epochs: 1,
            seed: i + 1,
          },
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

/** Measures `backend` on every network size, or gives a slow device its token measurement. */
async function timeBackend(runtime: TfRuntime): Promise<Row[]> {
  const slow =
    runtime.backend === 'cpu'
      ? { steps: Number(values['cpu-steps']), batch: Number(values['cpu-batch']), warmup: 0 }
      : runtime.adapter?.software
        ? { steps: Number(values['software-steps']), batch: Number(values['software-batch']), warmup: 1 }
        : null;
  if (slow) return [await timeTfjs(runtime, filtersList[0]!, slow.steps, slow.batch, slow.warmup)];
  const rows: Row[] = [];
  for (const filters of filtersList) rows.push(await timeTfjs(runtime, filters, steps, batchSize, warmup));
  return rows;
}

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
  results.push(...(await timeBackend(runtime)));
}
const torchVersion = torchAvailable();
if (torchVersion) {
  for (const filters of filtersList) {
    // threads do not matter on CUDA
    for (const threads of torchDevice === 'cuda' ? [1] : [...new Set([1, cpus().length])]) {
      const row = timeTorch(filters, threads);
      if (row) results.push(row);
    }
  }
} else {
  notRun.pytorch = `${PYTHON} -c 'import torch' failed (apt-get install python3-torch, or NASNET_PYTHON=<a python with torch>)`;
}
const ratios = filtersList.map((filters) => {
  const versus = (backend: string) => {
    const row = results.find((r) => r.backend === backend && r.filters === filters);
    const torch = results.find((r) => r.backend === 'pytorch' && r.filters === filters && r.threads === 1);
    return row && torch ? round(row.imagesPerSec / torch.imagesPerSec) : null;
  };
  // per image; a software adapter's row is at its own small batch (see the header)
  return { filters, wasmVsPytorchOneThread: versus('wasm'), webgpuVsPytorchOneThread: versus('webgpu') };
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
  settings: {
    network: 'NASNet-A cells, N = 1, 28×28×1, 10 classes',
    batchSize,
    steps,
    warmup,
    cpu: { steps: Number(values['cpu-steps']), batchSize: Number(values['cpu-batch']) },
    softwareAdapter: { steps: Number(values['software-steps']), batchSize: Number(values['software-batch']), warmup: 1 },
    torchDevice,
    optimizer: 'SGD momentum 0.9',
    data: 'random',
  },
  machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', pytorch: torchVersion },
};
console.log(values.json ? JSON.stringify(output) : JSON.stringify(output, null, 2));
process.exit(0);
