/**
 * Training speed of one child network, measured the same way by bench/train.ts and the GPU
 * check (bench/device/gpu-bench.ts): tfjs steps on a loaded runtime, and the PyTorch twin
 * (torch_child.py) built from the same network plan.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NASNET_A } from '../core/search-space/nasnet-a.ts';
import { buildNasnetPlan } from '../plugins/trainers/network/nasnet-plan.ts';
import { networkOptions } from '../plugins/trainers/network/network-options.ts';
import { planTotals, type NetworkPlan } from '../plugins/trainers/network/plan.ts';
import { NetworkModel } from '../plugins/trainers/tfjs/network-model.ts';
import type { TfRuntime } from '../plugins/trainers/tfjs/tf-runtime.ts';
import { trainStep } from '../plugins/trainers/tfjs/train-network.ts';

/** NASNet-A on 28×28×1 inputs, 10 classes: N normal cells per stack, `filters` in the first stack. */
export const nasnetPlan = (N: number, filters: number): NetworkPlan =>
  buildNasnetPlan(networkOptions({ genotype: NASNET_A, dataset: 'fashion-mnist', N, filters }));

export interface StepTiming {
  params: number;
  steps: number;
  batchSize: number;
  imagesPerSec: number;
  msPerImage: number;
  /** The warm-up steps, shader compilation and first allocations included. */
  warmupSeconds: number;
}

/**
 * Times `steps` SGD-momentum steps on random data after `warmup` untimed ones. Every step
 * ends with an asynchronous read of its loss (trainStep), so a GPU's queue is drained inside
 * the step that filled it and the clock stops when the work is done.
 */
export async function timeTfjsSteps(
  runtime: TfRuntime,
  plan: NetworkPlan,
  options: { steps: number; warmup: number; batchSize: number },
): Promise<StepTiming> {
  const { tf } = runtime;
  const { steps, warmup, batchSize } = options;
  const model = new NetworkModel(tf, plan, 1);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const [h, w, c] = plan.nodes[plan.input]!.shape;
  const x = new Float32Array(batchSize * h * w * c).map((_, i) => Math.sin(i));
  const y = new Int32Array(batchSize).map((_, i) => i % 10);
  const settings = { auxWeight: 0, seed: 1, dropPath: 0, weightDecay: 0 };
  const batch = { x, y, size: batchSize };
  try {
    const warmStart = performance.now();
    for (let s = 0; s < warmup; s++) await trainStep(runtime, model, optimizer, batch, settings, 0, s);
    const start = performance.now();
    for (let s = 0; s < steps; s++) await trainStep(runtime, model, optimizer, batch, settings, 0, warmup + s);
    const seconds = (performance.now() - start) / 1000;
    const images = steps * batchSize;
    return {
      params: planTotals(plan).trainableParams,
      steps,
      batchSize,
      imagesPerSec: round(images / seconds),
      msPerImage: round((1000 * seconds) / images),
      warmupSeconds: round((start - warmStart) / 1000),
    };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

export interface TorchOptions {
  python: string;
  /** torch_child.py; default: the one beside this module (in a bundle: beside the bundle). */
  script?: string;
  device: 'cpu' | 'cuda';
  threads: number;
  steps: number;
  warmup: number;
  batchSize: number;
  cudnnBenchmark?: boolean;
  timeoutMs?: number;
}

export interface TorchTiming {
  params: number;
  imagesPerSec: number;
  msPerImage: number;
  torch: string;
  /** `CPU`, or the CUDA device's name. */
  deviceName: string;
  cudnnBenchmark: boolean;
}

/** The PyTorch twin's speed, or why it could not be measured. */
export function timeTorchSteps(plan: NetworkPlan, options: TorchOptions): TorchTiming | { error: string } {
  const script = options.script ?? fileURLToPath(new URL('./torch_child.py', import.meta.url));
  const args = [
    script,
    '--device',
    options.device,
    '--threads',
    String(options.threads),
    '--steps',
    String(options.steps),
    '--warmup',
    String(options.warmup),
    '--batch',
    String(options.batchSize),
  ];
  if (options.cudnnBenchmark) args.push('--cudnn-benchmark');
  const run = spawnSync(options.python, args, { input: JSON.stringify(plan), encoding: 'utf8', timeout: options.timeoutMs });
  if (run.error) return { error: `${options.python}: ${run.error.message}` };
  if (run.status !== 0)
    return {
      error: `torch_child.py exited with ${run.status ?? run.signal}: ${run.stderr.trim().split('\n').slice(-3).join(' / ')}`,
    };
  const out = JSON.parse(run.stdout) as {
    imagesPerSec: number;
    msPerImage: number;
    params: number;
    torch: string;
    deviceName?: string;
    cudnnBenchmark?: boolean;
  };
  return {
    params: out.params,
    imagesPerSec: round(out.imagesPerSec),
    msPerImage: round(out.msPerImage),
    torch: out.torch,
    deviceName: out.deviceName ?? 'CPU',
    cudnnBenchmark: out.cudnnBenchmark ?? false,
  };
}

export const round = (x: number) => Number(x.toPrecision(4));
