/**
 * Benchmark of the wasm training kernels (plugins/trainers/tfjs/wasm-kernels):
 *  - ms per call of each kernel we register, and of the stock tfjs-backend-wasm kernel it
 *    replaces where there is one, on the shapes of the small NASNet-like child below;
 *  - ms per image of a training step of that child (the prototype's in
 *    /work/shared/prototypes/bench-child-tfjs.js: 28×28×1 input, batch 64, stem conv3x3, two
 *    blocks of sep3x3 + sep5x5 + avg-pool, Adam) at F = 16 and 32 on wasm, one thread;
 *  - the top kernels of an F=32 step (tf.profile, least over 5 steps).
 * Prints one JSON object. `--cpu` adds one training step on the pure-JS cpu backend at F=16
 * (tens of seconds); `--quick` fewer repetitions.
 * Run: node --import tsx bench/wasm-kernels.ts [--cpu] [--quick]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  registerWasmTrainingKernels,
  stockWasmKernel,
  wasmTrainingKernelNames,
} from '../plugins/trainers/tfjs/wasm-kernels/index.ts';

const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');

await tf.setBackend('wasm');
await tf.ready();
registerWasmTrainingKernels();
const backend = tf.backend();

/** Median of `reps` timed calls after `warm` untimed ones. */
function median(f: () => void, reps: number, warm = 2): number {
  for (let i = 0; i < warm; i++) f();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Times a kernelFunc called directly on the backend (the same way for ours and stock). */
function timeKernel(
  kernel: tf.KernelFunc,
  inputs: Record<string, tf.Tensor>,
  attrs: Record<string, unknown>,
  reps: number,
): number {
  return median(() => {
    const out = kernel({ inputs, backend, attrs: attrs as tf.NamedAttrMap });
    for (const o of Array.isArray(out) ? out : [out]) backend.disposeData(o.dataId);
  }, reps);
}

interface KernelCase {
  label: string;
  kernel: string;
  inputs: Record<string, number[]>;
  attrs: Record<string, unknown>;
}

function kernelCases(F: number): KernelCase[] {
  const N = 64,
    H = 28,
    W = 28;
  const x = [N, H, W, F];
  const cases: KernelCase[] = [];
  for (const k of [1, 3]) {
    cases.push({
      label: `conv${k}x${k} dx`,
      kernel: tf.Conv2DBackpropInput,
      inputs: { dy: x, filter: [k, k, F, F] },
      attrs: { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: x },
    });
    cases.push({
      label: `conv${k}x${k} dw`,
      kernel: tf.Conv2DBackpropFilter,
      inputs: { x, dy: x },
      attrs: { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [k, k, F, F] },
    });
  }
  cases.push({
    label: 'conv3x3 stride2 dx',
    kernel: tf.Conv2DBackpropInput,
    inputs: { dy: [N, 14, 14, F], filter: [3, 3, F, F] },
    attrs: { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: x },
  });
  cases.push({
    label: 'conv3x3 stride2 dw',
    kernel: tf.Conv2DBackpropFilter,
    inputs: { x, dy: [N, 14, 14, F] },
    attrs: { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, F, F] },
  });
  for (const k of [3, 5]) {
    const dw = { strides: 1, pad: 'same', dilations: 1 };
    cases.push({
      label: `depthwise${k}x${k} forward`,
      kernel: tf.DepthwiseConv2dNative,
      inputs: { x, filter: [k, k, F, 1] },
      attrs: { ...dw, dataFormat: 'NHWC' },
    });
    cases.push({
      label: `depthwise${k}x${k} dx`,
      kernel: tf.DepthwiseConv2dNativeBackpropInput,
      inputs: { dy: x, filter: [k, k, F, 1] },
      attrs: { ...dw, inputShape: x },
    });
    cases.push({
      label: `depthwise${k}x${k} dw`,
      kernel: tf.DepthwiseConv2dNativeBackpropFilter,
      inputs: { x, dy: x },
      attrs: { ...dw, filterShape: [k, k, F, 1] },
    });
  }
  cases.push({
    label: 'depthwise3x3 dilation2 dx',
    kernel: tf.DepthwiseConv2dNativeBackpropInput,
    inputs: { dy: x, filter: [3, 3, F, 1] },
    attrs: { strides: 1, pad: 'same', dilations: 2, inputShape: x },
  });
  cases.push({
    label: 'depthwise3x3 dilation2 dw',
    kernel: tf.DepthwiseConv2dNativeBackpropFilter,
    inputs: { x, dy: x },
    attrs: { strides: 1, pad: 'same', dilations: 2, filterShape: [3, 3, F, 1] },
  });
  cases.push({
    label: 'depthwise3x3 stride2 dx',
    kernel: tf.DepthwiseConv2dNativeBackpropInput,
    inputs: { dy: [N, 14, 14, F], filter: [3, 3, F, 1] },
    attrs: { strides: 2, pad: 'same', dilations: 1, inputShape: x },
  });
  cases.push({
    label: 'depthwise3x3 stride2 dw',
    kernel: tf.DepthwiseConv2dNativeBackpropFilter,
    inputs: { x, dy: [N, 14, 14, F] },
    attrs: { strides: 2, pad: 'same', dilations: 1, filterShape: [3, 3, F, 1] },
  });
  cases.push({
    label: 'avgpool3x3 dx',
    kernel: tf.AvgPoolGrad,
    inputs: { dy: x, input: x },
    attrs: { filterSize: 3, strides: 1, pad: 'same' },
  });
  cases.push({
    label: 'maxpool3x3 dx',
    kernel: tf.MaxPoolGrad,
    inputs: { dy: x, input: x, output: x },
    attrs: { filterSize: 3, strides: 1, pad: 'same' },
  });
  cases.push({
    label: 'maxpool3x3 stride2 dx',
    kernel: tf.MaxPoolGrad,
    inputs: { dy: [N, 14, 14, F], input: x, output: [N, 14, 14, F] },
    attrs: { filterSize: 3, strides: 2, pad: 'same' },
  });
  // Forward and plumbing kernels we replace.
  cases.push({
    label: 'conv1x1 forward',
    kernel: tf.Conv2D,
    inputs: { x, filter: [1, 1, F, F] },
    attrs: { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1 },
  });
  cases.push({ label: 'sum over [0,1,2]', kernel: tf.Sum, inputs: { x }, attrs: { axis: [0, 1, 2], keepDims: false } });
  cases.push({ label: 'mean over [1,2]', kernel: tf.Mean, inputs: { x }, attrs: { axis: [1, 2], keepDims: false } });
  cases.push({ label: 'tile [1,1,1,F] to x', kernel: tf.Tile, inputs: { x: [1, 1, 1, F] }, attrs: { reps: [N, H, W, 1] } });
  cases.push({ label: 'identity', kernel: tf.Identity, inputs: { x }, attrs: {} });
  return cases;
}

function benchKernels(F: number) {
  const rows: Array<{ kernel: string; case: string; ms: number; stockMs?: number }> = [];
  for (const c of kernelCases(F)) {
    const inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, s]) => [k, tf.randomNormal(s)]));
    const ours = tf.getKernel(c.kernel, 'wasm')!.kernelFunc;
    const stock = stockWasmKernel(c.kernel);
    const ms = timeKernel(ours, inputs, c.attrs, quick ? 3 : 7);
    const row: (typeof rows)[number] = { kernel: c.kernel, case: `${c.label} [64,28,28,${F}]`, ms: round(ms) };
    // The stock kernels are slow: fewer repetitions.
    if (stock !== undefined && stock !== ours) row.stockMs = round(timeKernel(stock, inputs, c.attrs, 3));
    rows.push(row);
    tf.dispose(Object.values(inputs));
  }
  return rows;
}

const round = (v: number, digits = 2): number => Number(v.toFixed(digits));

/** The prototype's child network and training step. */
function makeChild(F: number) {
  const v = (s: number[]) => tf.variable(tf.randomNormal(s, 0, 0.1));
  const stem = v([3, 3, 1, F]);
  const ops = [0, 1].map(() => ({ d3: v([3, 3, F, 1]), p3: v([1, 1, F, F]), d5: v([5, 5, F, 1]), p5: v([1, 1, F, F]) }));
  const dense = v([F, 10]);
  const optimizer = tf.train.adam(1e-3);
  const loss = (xb: tf.Tensor4D, yb: tf.Tensor2D) => () => {
    let x = tf.relu(tf.conv2d(xb, stem as tf.Tensor4D, 1, 'same'));
    const m = tf.moments(x, [0, 1, 2]);
    x = x.sub(m.mean).div(m.variance.add(1e-3).sqrt());
    for (const o of ops) {
      const a = tf.separableConv2d(tf.relu(x), o.d3 as tf.Tensor4D, o.p3 as tf.Tensor4D, 1, 'same');
      const b = tf.separableConv2d(tf.relu(x), o.d5 as tf.Tensor4D, o.p5 as tf.Tensor4D, 1, 'same');
      const c = tf.avgPool(x, 3, 1, 'same');
      x = a.add(b).add(c);
    }
    const logits = tf.matMul(tf.mean(x, [1, 2]) as tf.Tensor2D, dense as tf.Tensor2D);
    return tf.losses.softmaxCrossEntropy(yb, logits) as tf.Scalar;
  };
  const step = (xb: tf.Tensor4D, yb: tf.Tensor2D) =>
    tf.tidy(() => {
      optimizer.minimize(loss(xb, yb));
    });
  const dispose = () => {
    tf.dispose([stem, dense, ...ops.flatMap((o) => Object.values(o))]);
    optimizer.dispose();
  };
  return { step, dispose, dense };
}

/**
 * ms per image of training steps (batch 64) after one warm-up step: `rounds` passes of
 * `steps` steps each; the median and best pass (the machine is shared, timings are noisy).
 */
function benchStep(F: number, steps: number, rounds: number): { median: number; best: number } {
  const B = 64;
  const child = makeChild(F);
  const xs = tf.randomNormal([steps * B, 28, 28, 1]) as tf.Tensor4D;
  const ys = tf.oneHot(tf.randomUniform([steps * B], 0, 10, 'int32') as tf.Tensor1D, 10) as tf.Tensor2D;
  const batches = Array.from(
    { length: steps },
    (_, i) => [xs.slice([i * B, 0, 0, 0], [B, 28, 28, 1]), ys.slice([i * B, 0], [B, 10])] as const,
  );
  child.step(batches[0]![0], batches[0]![1]);
  const perImage: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (const [xb, yb] of batches) child.step(xb, yb);
    child.dense.dataSync();
    perImage.push((performance.now() - t0) / (steps * B));
  }
  child.dispose();
  tf.dispose([xs, ys, ...batches.flat()]);
  perImage.sort((a, b) => a - b);
  return { median: round(perImage[Math.floor(perImage.length / 2)]!, 3), best: round(perImage[0]!, 3) };
}

/** Per-kernel time of a training step (tf.profile), the least over `steps` profiled steps. */
async function profileStep(F: number, steps: number) {
  const child = makeChild(F);
  const xb = tf.randomNormal([64, 28, 28, 1]) as tf.Tensor4D;
  const yb = tf.oneHot(tf.randomUniform([64], 0, 10, 'int32') as tf.Tensor1D, 10) as tf.Tensor2D;
  child.step(xb, yb);
  const best = new Map<string, { calls: number; ms: number }>();
  let bestTotal = Infinity;
  for (let s = 0; s < steps; s++) {
    const profile = await tf.profile(() => {
      child.step(xb, yb);
    });
    const byKernel = new Map<string, { calls: number; ms: number }>();
    let total = 0;
    for (const k of profile.kernels) {
      const t = await k.kernelTimeMs;
      const ms = typeof t === 'number' ? t : 0;
      const e = byKernel.get(k.name) ?? { calls: 0, ms: 0 };
      e.calls++;
      e.ms += ms;
      total += ms;
      byKernel.set(k.name, e);
    }
    bestTotal = Math.min(bestTotal, total);
    for (const [name, e] of byKernel) if (e.ms < (best.get(name)?.ms ?? Infinity)) best.set(name, e);
  }
  child.dispose();
  tf.dispose([xb, yb]);
  const top = [...best.entries()]
    .sort((p, q) => q[1].ms - p[1].ms)
    .slice(0, 14)
    .map(([kernel, e]) => ({ kernel, calls: e.calls, ms: round(e.ms, 1), share: round(e.ms / bestTotal, 3) }));
  return { F, note: 'least over profiled steps, per kernel and for the total', kernelMsTotal: round(bestTotal, 1), top };
}

const result: Record<string, unknown> = {
  registered: wasmTrainingKernelNames,
  backend: tf.getBackend(),
  node: process.version,
  kernelsF32: benchKernels(32),
};
const steps: Record<string, { median: number; best: number }> = {};
for (const F of [16, 32]) steps[`wasm F=${F}`] = benchStep(F, quick ? 4 : 8, quick ? 2 : 5);
result['trainStepMsPerImage'] = steps;
result['profile'] = await profileStep(32, quick ? 2 : 5);
if (args.has('--cpu')) {
  // The pure-JS backend: one step (its gradients are the stock cpu kernels).
  await tf.setBackend('cpu');
  steps['cpu F=16'] = benchStep(16, 1, 1);
}
result['reference'] = {
  note: 'ms/image, measured on the development machine in an earlier session',
  prototypeWasm: { 'F=16': 5.2, 'F=32': 11.2 },
  pytorch1Thread: { 'F=16': 1.78, 'F=32': 3.53 },
};
console.log(JSON.stringify(result, null, 2));
