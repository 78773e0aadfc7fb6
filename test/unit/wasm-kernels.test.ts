import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { dilateFilter } from '../../plugins/trainers/tfjs/training-gradients.ts';
import {
  registerWasmTrainingKernels,
  stockWasmKernel,
  wasmTrainingKernelNames,
} from '../../plugins/trainers/tfjs/wasm-kernels/index.ts';

/**
 * The wasm training kernels against tfjs's pure-JS cpu backend: every registered kernel on
 * random shapes (odd sizes, channel counts that exercise the 16-, 4- and 1-wide code paths,
 * kernel sizes 1/3/5/7 and non-square ones, strides 1/2, same/valid/numeric padding, dilation
 * 2), gradients of a small tf.layers model, dilated convolution gradients, and no leaks.
 */

interface Data {
  shape: number[];
  values: Float32Array | Int32Array;
  dtype?: 'float32' | 'int32';
}

/** Deterministic random numbers (mulberry32), so a failure reproduces. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!;
  const data = (shape: number[]): Data => ({
    shape,
    values: Float32Array.from({ length: shape.reduce((p, n) => p * n, 1) }, () => next() * 2 - 1),
  });
  return { next, int, pick, data };
}

async function on<T>(backend: 'cpu' | 'wasm', f: () => T): Promise<T> {
  await tf.setBackend(backend);
  return f();
}

/** Runs f in a tidy scope and returns its plain (non-tensor) result; every tensor it made is freed. */
function scoped<T>(f: () => T): T {
  let out: T | undefined;
  tf.tidy(() => {
    out = f();
  });
  return out as T;
}

const tensorOf = (d: Data): tf.Tensor => tf.tensor(d.values, d.shape, d.dtype ?? 'float32');

/** Runs one kernel on the current backend; returns its output's shape and values. */
function runKernel(kernelName: string, inputs: Record<string, Data>, attrs: object): Data {
  return scoped(() => {
    const ts = Object.fromEntries(Object.entries(inputs).map(([k, d]) => [k, tensorOf(d)]));
    const out = tf.engine().runKernel(kernelName, ts, attrs as tf.NamedAttrMap) as tf.Tensor;
    return { shape: out.shape, values: out.dataSync() as Float32Array, dtype: out.dtype as 'float32' };
  });
}

/** Runs on wasm and checks that no tensor or backend buffer is left behind. */
function runKernelNoLeak(kernelName: string, inputs: Record<string, Data>, attrs: object): Data {
  const before = tf.memory();
  const out = runKernel(kernelName, inputs, attrs);
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors, `${kernelName} leaked tensors`);
  assert.equal(after.numDataBuffers, before.numDataBuffers, `${kernelName} leaked backend buffers`);
  return out;
}

/** |actual - expected| <= tol · (1 + max |expected|), elementwise. */
function assertClose(actual: Data, expected: Data, label: string, tol = 2e-5): void {
  assert.deepEqual(actual.shape, expected.shape, `${label}: shape`);
  let scale = 1;
  for (const v of expected.values) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < expected.values.length; i++) {
    const d = Math.abs(actual.values[i]! - expected.values[i]!);
    if (!(d <= tol * scale))
      assert.fail(`${label}: element ${i} is ${actual.values[i]}, expected ${expected.values[i]} (scale ${scale})`);
  }
}

async function compareWithCpu(
  kernelName: string,
  inputs: Record<string, Data>,
  attrs: object,
  label: string,
  tol?: number,
): Promise<void> {
  const expected = await on('cpu', () => runKernel(kernelName, inputs, attrs));
  const actual = await on('wasm', () => runKernelNoLeak(kernelName, inputs, attrs));
  assertClose(actual, expected, `${label} ${JSON.stringify(attrs)}`, tol);
}

type Pad = 'same' | 'valid' | number | number[][];
interface ConvCase {
  N: number;
  H: number;
  W: number;
  CI: number;
  CO: number;
  KH: number;
  KW: number;
  stride: number;
  dilation: number;
  pad: Pad;
}

const CHANNELS = [1, 3, 4, 5, 8, 16, 17, 20, 36];
const KERNELS: ReadonlyArray<[number, number]> = [
  [1, 1],
  [3, 3],
  [5, 5],
  [7, 7],
  [1, 3],
  [3, 1],
  [1, 7],
  [7, 1],
  [2, 2],
];

/** A random convolution whose output is not empty. */
function convCase(r: ReturnType<typeof rng>, opts: { dilation?: boolean; CO?: readonly number[] } = {}): ConvCase {
  for (;;) {
    const [KH, KW] = r.pick(KERNELS);
    const dilation = opts.dilation === true ? 2 : 1;
    const stride = dilation > 1 ? 1 : r.pick([1, 2]);
    const explicit = [
      [0, 0],
      [r.int(0, 2), r.int(0, 2)],
      [r.int(0, 2), r.int(0, 2)],
      [0, 0],
    ];
    const pad: Pad = r.pick<Pad>(['same', 'valid', 'same', r.int(0, 2), explicit]);
    const c: ConvCase = {
      N: r.int(1, 3),
      H: r.int(3, 13),
      W: r.int(3, 13),
      CI: r.pick(CHANNELS),
      CO: r.pick(opts.CO ?? CHANNELS),
      KH,
      KW,
      stride,
      dilation,
      pad,
    };
    const padH = Array.isArray(pad) ? pad[1]![0]! + pad[1]![1]! : typeof pad === 'number' ? 2 * pad : pad === 'same' ? 1e9 : 0;
    const padW = Array.isArray(pad) ? pad[2]![0]! + pad[2]![1]! : padH;
    if (c.H + padH >= (KH - 1) * dilation + 1 && c.W + padW >= (KW - 1) * dilation + 1) return c;
  }
}

const describeCase = (c: ConvCase) =>
  `x[${c.N},${c.H},${c.W},${c.CI}] k${c.KH}x${c.KW} co${c.CO} s${c.stride} d${c.dilation} ${JSON.stringify(c.pad)}`;

function convOut(c: ConvCase, depthwise = false): number[] {
  // For a depthwise case CO is the channel multiplier: the filter is [KH, KW, CI, CO] either way.
  const filter: [number, number, number, number] = [c.KH, c.KW, c.CI, c.CO];
  return tf.backend_util.computeConv2DInfo(
    [c.N, c.H, c.W, c.CI],
    filter,
    c.stride,
    c.dilation,
    c.pad as tf.backend_util.ExplicitPadding,
    undefined,
    depthwise,
  ).outShape;
}

before(async () => {
  await tf.setBackend('wasm');
  registerWasmTrainingKernels();
  registerWasmTrainingKernels(); // idempotent
});

describe('registration', () => {
  test('registers every kernel once, for wasm only, and keeps the stock ones reachable', () => {
    for (const name of wasmTrainingKernelNames) assert.ok(tf.getKernel(name, 'wasm'), name);
    assert.notEqual(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc, stockWasmKernel('Conv2DBackpropInput'));
    assert.ok(stockWasmKernel('AvgPoolGrad'));
    assert.equal(stockWasmKernel('Conv2DBackpropFilter'), undefined);
  });
});

describe('Conv2D gradients match the cpu backend', () => {
  test('Conv2D, FusedConv2D and FusedDepthwiseConv2D forward (1×1 as a matrix product, the rest stock with explicit padding)', async () => {
    const r = rng(13);
    const activations = ['linear', 'relu', 'relu6', 'sigmoid', 'leakyrelu', 'elu'];
    // Stock tfjs-backend-wasm 4.22 gets 'same' wrong for filters one pixel wide with stride 2.
    const sameStride2: ConvCase[] = [
      [3, 1],
      [7, 1],
      [5, 1],
    ].map(([KH, KW]) => ({ N: 2, H: 9, W: 10, CI: 3, CO: 4, KH: KH!, KW: KW!, stride: 2, dilation: 1, pad: 'same' }));
    for (let i = 0; i < 27; i++) {
      const c = sameStride2[i] ?? (i % 2 === 0 ? { ...convCase(r), KH: 1, KW: 1, stride: 1 } : convCase(r));
      const x = r.data([c.N, c.H, c.W, c.CI]);
      const filter = r.data([c.KH, c.KW, c.CI, c.CO]);
      const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dilations: 1 };
      await compareWithCpu('Conv2D', { x, filter }, attrs, describeCase(c));
      const activation = r.pick(activations);
      const inputs: Record<string, Data> = { x, filter };
      if (i % 3 !== 0) inputs['bias'] = r.data([c.CO]);
      await compareWithCpu(
        'FusedConv2D',
        inputs,
        { ...attrs, activation, leakyreluAlpha: 0.2 },
        `${describeCase(c)} ${activation}`,
      );
      const dwInputs: Record<string, Data> = { x, filter: r.data([c.KH, c.KW, c.CI, 1]) };
      if (i % 3 !== 0) dwInputs['bias'] = r.data([c.CI]);
      await compareWithCpu(
        'FusedDepthwiseConv2D',
        dwInputs,
        { ...attrs, activation, leakyreluAlpha: 0.2 },
        `depthwise ${describeCase(c)} ${activation}`,
      );
    }
  });

  test('Conv2DBackpropInput', async () => {
    const r = rng(1);
    for (let i = 0; i < 40; i++) {
      const c = convCase(r);
      const dy = r.data(convOut(c));
      await compareWithCpu(
        'Conv2DBackpropInput',
        { dy, filter: r.data([c.KH, c.KW, c.CI, c.CO]) },
        { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', inputShape: [c.N, c.H, c.W, c.CI] },
        describeCase(c),
      );
    }
  });

  test('Conv2DBackpropFilter', async () => {
    const r = rng(2);
    for (let i = 0; i < 40; i++) {
      const c = convCase(r);
      await compareWithCpu(
        'Conv2DBackpropFilter',
        { x: r.data([c.N, c.H, c.W, c.CI]), dy: r.data(convOut(c)) },
        { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape: [c.KH, c.KW, c.CI, c.CO] },
        describeCase(c),
      );
    }
  });

  test('with dilation 2 (an attribute only our kernels read): the undilated cpu kernels on the zero-filled filter', async () => {
    const r = rng(3);
    for (let i = 0; i < 16; i++) {
      const c = convCase(r, { dilation: true });
      const x = r.data([c.N, c.H, c.W, c.CI]);
      const w = r.data([c.KH, c.KW, c.CI, c.CO]);
      const dy = r.data(convOut(c));
      const common = { strides: 1, pad: c.pad, dataFormat: 'NHWC' };
      const [dxRef, dwRef] = await on('cpu', () =>
        scoped(() => {
          const wide = dilateFilter(tensorOf(w) as tf.Tensor4D, 2, 2);
          const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy: tensorOf(dy), filter: wide }, {
            ...common,
            inputShape: x.shape,
          } as tf.NamedAttrMap) as tf.Tensor;
          const dwWide = tf.engine().runKernel('Conv2DBackpropFilter', { x: tensorOf(x), dy: tensorOf(dy) }, {
            ...common,
            filterShape: wide.shape,
          } as tf.NamedAttrMap) as tf.Tensor4D;
          const dW = tf.stridedSlice(dwWide, [0, 0, 0, 0], dwWide.shape, [2, 2, 1, 1]);
          return [dx, dW].map((t): Data => ({ shape: t.shape, values: t.dataSync() as Float32Array }));
        }),
      );
      await on('wasm', () => {
        const dilations = [2, 2];
        assertClose(
          runKernelNoLeak('Conv2DBackpropInput', { dy, filter: w }, { ...common, inputShape: x.shape, dilations }),
          dxRef!,
          `dx ${describeCase(c)}`,
        );
        assertClose(
          runKernelNoLeak('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape: w.shape, dilations }),
          dwRef!,
          `dw ${describeCase(c)}`,
        );
      });
    }
  });
});

describe('depthwise convolution matches the cpu backend', () => {
  const depthwiseCase = (r: ReturnType<typeof rng>, dilation = false) => {
    const c = convCase(r, { dilation, CO: [1, 1, 1, 2] }); // CO is the channel multiplier here
    return { c, filter: [c.KH, c.KW, c.CI, c.CO], attrs: { strides: c.stride, pad: c.pad, dilations: c.dilation } };
  };

  test('DepthwiseConv2dNative (forward, replaced), with dilation 2 too', async () => {
    const r = rng(4);
    for (let i = 0; i < 40; i++) {
      const { c, filter, attrs } = depthwiseCase(r, i % 4 === 3);
      await compareWithCpu(
        'DepthwiseConv2dNative',
        { x: r.data([c.N, c.H, c.W, c.CI]), filter: r.data(filter) },
        { ...attrs, dataFormat: 'NHWC' },
        describeCase(c),
      );
    }
  });

  test('DepthwiseConv2dNativeBackpropInput', async () => {
    const r = rng(5);
    for (let i = 0; i < 40; i++) {
      const { c, filter, attrs } = depthwiseCase(r);
      await compareWithCpu(
        'DepthwiseConv2dNativeBackpropInput',
        { dy: r.data(convOut(c, true)), filter: r.data(filter) },
        { ...attrs, inputShape: [c.N, c.H, c.W, c.CI] },
        describeCase(c),
      );
    }
  });

  test('DepthwiseConv2dNativeBackpropFilter', async () => {
    const r = rng(6);
    for (let i = 0; i < 40; i++) {
      const { c, filter, attrs } = depthwiseCase(r);
      await compareWithCpu(
        'DepthwiseConv2dNativeBackpropFilter',
        { x: r.data([c.N, c.H, c.W, c.CI]), dy: r.data(convOut(c, true)) },
        { ...attrs, filterShape: filter },
        describeCase(c),
      );
    }
  });

  test('backprop with dilation 2 (the cpu kernels ignore it): undilated cpu kernels on the zero-filled filter', async () => {
    const r = rng(7);
    for (let i = 0; i < 16; i++) {
      const { c, filter } = depthwiseCase(r, true);
      const x = r.data([c.N, c.H, c.W, c.CI]);
      const w = r.data(filter);
      const dy = r.data(convOut(c, true));
      const common = { strides: 1, pad: c.pad };
      const [dxRef, dwRef] = await on('cpu', () =>
        scoped(() => {
          const wide = dilateFilter(tensorOf(w) as tf.Tensor4D, 2, 2);
          const dx = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: tensorOf(dy), filter: wide }, {
            ...common,
            dilations: 1,
            inputShape: x.shape,
          } as tf.NamedAttrMap) as tf.Tensor;
          const dwWide = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: tensorOf(x), dy: tensorOf(dy) }, {
            ...common,
            dilations: 1,
            filterShape: wide.shape,
          } as tf.NamedAttrMap) as tf.Tensor4D;
          const dW = tf.stridedSlice(dwWide, [0, 0, 0, 0], dwWide.shape, [2, 2, 1, 1]);
          return [dx, dW].map((t): Data => ({ shape: t.shape, values: t.dataSync() as Float32Array }));
        }),
      );
      await on('wasm', () => {
        assertClose(
          runKernelNoLeak(
            'DepthwiseConv2dNativeBackpropInput',
            { dy, filter: w },
            { ...common, dilations: 2, inputShape: x.shape },
          ),
          dxRef!,
          `dx ${describeCase(c)}`,
        );
        assertClose(
          runKernelNoLeak('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...common, dilations: 2, filterShape: w.shape }),
          dwRef!,
          `dw ${describeCase(c)}`,
        );
      });
    }
  });
});

describe('pooling gradients match the cpu backend', () => {
  const poolCase = (r: ReturnType<typeof rng>) => {
    const c = convCase(r);
    const attrs = { filterSize: [c.KH, c.KW], strides: c.stride, pad: c.pad };
    const out = tf.backend_util.computePool2DInfo(
      [c.N, c.H, c.W, c.CI],
      [c.KH, c.KW],
      c.stride,
      1,
      c.pad as tf.backend_util.ExplicitPadding,
    ).outShape;
    return { c, attrs, out };
  };

  test('AvgPoolGrad', async () => {
    const r = rng(8);
    for (let i = 0; i < 40; i++) {
      const { c, attrs, out } = poolCase(r);
      await compareWithCpu('AvgPoolGrad', { dy: r.data(out), input: r.data([c.N, c.H, c.W, c.CI]) }, attrs, describeCase(c));
    }
  });

  test('MaxPoolGrad, including ties (first maximum wins, as on cpu)', async () => {
    const r = rng(9);
    for (let i = 0; i < 40; i++) {
      const { c, attrs, out } = poolCase(r);
      const x = r.data([c.N, c.H, c.W, c.CI]);
      if (i % 2 === 1) x.values = x.values.map((v) => Math.round(v * 2)); // few distinct values: ties
      const y = await on('cpu', () => runKernel('MaxPool', { x }, attrs));
      await compareWithCpu('MaxPoolGrad', { dy: r.data(out), input: x, output: y }, attrs, describeCase(c));
    }
  });
});

describe('reductions, Identity and Cast', () => {
  test('Sum and Mean over leading or middle axes (ours) and any other axes (stock)', async () => {
    const r = rng(10);
    const cases: Array<[number[], number | number[]]> = [
      [
        [4, 5, 7, 33],
        [0, 1, 2],
      ],
      [
        [3, 6, 5, 17],
        [1, 2],
      ],
      [[2, 3, 4, 5], [1]],
      [[9, 4], 0],
      [[130, 3], [0]],
      [[3, 4, 5], -2],
      [[2, 3, 4, 5], [3]],
      [
        [2, 3, 4, 5],
        [0, 2],
      ],
      [
        [2, 3, 4, 5],
        [0, 1, 2, 3],
      ],
    ];
    for (const [shape, axis] of cases) {
      for (const keepDims of [false, true]) {
        const x = r.data(shape);
        await compareWithCpu('Sum', { x }, { axis, keepDims }, `Sum ${shape} ${axis}`);
        await compareWithCpu('Mean', { x }, { axis, keepDims }, `Mean ${shape} ${axis}`);
      }
    }
    const ints: Data = { shape: [3, 4, 5], values: Int32Array.from({ length: 60 }, (_, i) => i - 30), dtype: 'int32' };
    await compareWithCpu('Sum', { x: ints }, { axis: [0, 1], keepDims: false }, 'Sum int32');
  });

  test('Tile (broadcasting and repeating; int32 too; rank > 4 boxes go to the stock kernel)', async () => {
    const r = rng(14);
    const cases: Array<[number[], number[]]> = [
      [
        [1, 1, 1, 7],
        [3, 5, 4, 1],
      ],
      [
        [2, 1, 3],
        [1, 4, 1],
      ],
      [
        [3, 4],
        [2, 3],
      ],
      [[5], [4]],
      [
        [2, 1, 3, 1, 2],
        [2, 3, 1, 2, 2],
      ],
      [
        [1, 2, 1, 3],
        [4, 2, 5, 2],
      ],
    ];
    for (const [shape, reps] of cases) await compareWithCpu('Tile', { x: r.data(shape) }, { reps }, `Tile ${shape} × ${reps}`);
    const ints: Data = { shape: [2, 1, 3], values: Int32Array.from([1, -2, 3, 4, 5, -6]), dtype: 'int32' };
    await compareWithCpu('Tile', { x: ints }, { reps: [2, 3, 2] }, 'Tile int32');
  });

  test('gradients of Sum and Mean (broadcast instead of ones), against the analytic gradient on both backends', async () => {
    const r = rng(15);
    const [N, H, W, C] = [3, 5, 4, 6];
    const x = r.data([N, H, W, C]);
    const w = r.data([N, H, W, C]);
    const v = r.data([C]);
    const u = r.data([N, C]);
    // L = Σ_c v[c]·Σ_{n,h,w} x·w + Σ_{n,c} u[n,c]·mean_{h,w}(x·w) + mean(x·w)
    // dL/dx[n,h,w,c] = w[n,h,w,c]·(v[c] + u[n,c]/(H·W) + 1/(N·H·W·C))
    const expected: Data = { shape: [N, H, W, C], values: new Float32Array(N * H * W * C) };
    for (let i = 0; i < expected.values.length; i++) {
      const c = i % C;
      const n = Math.floor(i / (H * W * C));
      expected.values[i] = w.values[i]! * (v.values[c]! + u.values[n * C + c]! / (H * W) + 1 / (N * H * W * C));
    }
    const gradient = () =>
      scoped(() => {
        const [wt, vt, ut] = [w, v, u].map(tensorOf) as [tf.Tensor, tf.Tensor, tf.Tensor];
        const loss = (a: tf.Tensor) => {
          const aw = tf.mul(a, wt);
          return tf.addN([
            tf.sum(tf.mul(tf.sum(aw, [0, 1, 2]), vt)),
            tf.sum(tf.mul(tf.mean(aw, [1, 2]), ut)),
            tf.mean(aw),
          ]) as tf.Scalar;
        };
        const g = tf.grad(loss)(tensorOf(x));
        return { shape: g.shape, values: g.dataSync() as Float32Array } as Data;
      });
    assertClose(await on('cpu', gradient), expected, 'cpu', 1e-5);
    assertClose(await on('wasm', gradient), expected, 'wasm', 1e-5);
  });

  test('Identity and same-dtype Cast share data without breaking disposal', async () => {
    await on('wasm', () => {
      const before = tf.memory();
      const x = tf.tensor([1, 2, 3, 4], [2, 2]);
      const copy = tf.clone(x);
      const same = tf.cast(x, 'float32');
      x.dispose();
      assert.deepEqual(Array.from(copy.dataSync()), [1, 2, 3, 4]);
      assert.deepEqual(Array.from(same.dataSync()), [1, 2, 3, 4]);
      copy.dispose();
      assert.deepEqual(Array.from(same.dataSync()), [1, 2, 3, 4]);
      const floats = tf.tensor([1.7, -2.2]);
      const ints = tf.cast(floats, 'int32');
      assert.equal(ints.dtype, 'int32');
      assert.deepEqual(Array.from(ints.dataSync()), [1, -2]);
      tf.dispose([same, ints, floats]);
      const after = tf.memory();
      assert.equal(after.numTensors, before.numTensors);
      assert.equal(after.numDataBuffers, before.numDataBuffers);
    });
  });
});

/** Gradients of `loss` w.r.t. the given variables and the input, on one backend. */
function gradients(loss: (x: tf.Tensor) => tf.Scalar, x: Data, vars: tf.Variable[]): Data[] {
  return scoped(() => {
    const input = tensorOf(x);
    const { grads } = tf.variableGrads(() => loss(input), vars);
    const dx = tf.grad((a: tf.Tensor) => loss(a))(input);
    return [...vars.map((v) => grads[v.name]!), dx].map((t): Data => ({ shape: t.shape, values: t.dataSync() as Float32Array }));
  });
}

describe('training through tf.layers and ops', () => {
  /** conv2d (bias + relu, and linear: the fused path), separable, depthwise, batch norm, pools. */
  function buildModel(seed: number): tf.LayersModel {
    const init = (s: number) => tf.initializers.glorotUniform({ seed: seed + s });
    const input = tf.input({ shape: [12, 12, 3] });
    let x = tf.layers
      .conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) })
      .apply(input) as tf.SymbolicTensor;
    x = tf.layers
      .separableConv2d({
        filters: 12,
        kernelSize: 5,
        padding: 'same',
        depthwiseInitializer: init(2),
        pointwiseInitializer: init(3),
      })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ gammaInitializer: 'ones' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .conv2d({
        filters: 12,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        kernelInitializer: init(4),
        biasInitializer: tf.initializers.constant({ value: 0.1 }),
      })
      .apply(x) as tf.SymbolicTensor;
    const a = tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(x) as tf.SymbolicTensor;
    const m = tf.layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.add().apply([a, m]) as tf.SymbolicTensor;
    x = tf.layers
      .depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'valid', depthwiseInitializer: init(5) })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 5, kernelInitializer: init(6) }).apply(x) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: out });
  }

  test('a small tf.layers model has the same gradients on wasm as on cpu, and leaks nothing', async () => {
    const r = rng(11);
    const x = r.data([4, 12, 12, 3]);
    const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 3, 1, 4], 'int32'), 5).dataSync() as Float32Array);
    const run = (backend: 'cpu' | 'wasm', weights?: Data[]) =>
      on(backend, () => {
        const model = buildModel(5);
        if (weights) {
          const values = weights.map(tensorOf);
          model.setWeights(values);
          tf.dispose(values);
        }
        const current = model.getWeights().map((t): Data => ({ shape: t.shape, values: t.dataSync() as Float32Array }));
        const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
        const y = tf.tensor(labels, [4, 5]);
        const loss = (input: tf.Tensor) =>
          tf.losses.softmaxCrossEntropy(y, model.apply(input, { training: true }) as tf.Tensor) as tf.Scalar;
        // Measured on the second pass: the first one also replaces batch norm's moving
        // statistics (the buffers set by setWeights go, new ones come).
        gradients(loss, x, vars);
        const before = tf.memory();
        const grads = gradients(loss, x, vars);
        const after = tf.memory();
        assert.equal(after.numTensors, before.numTensors, `${backend}: tensors leaked`);
        assert.equal(after.numDataBuffers, before.numDataBuffers, `${backend}: buffers leaked`);
        y.dispose();
        model.dispose();
        return { grads, weights: current, names: model.trainableWeights.map((w) => w.originalName) };
      });
    const cpu = await run('cpu');
    const wasm = await run('wasm', cpu.weights);
    assert.equal(wasm.grads.length, cpu.grads.length);
    cpu.grads.forEach((g, i) => assertClose(wasm.grads[i]!, g, `gradient of ${cpu.names[i] ?? 'input'}`, 1e-4));
  });

  test('dilated conv2d, depthwise and separable convolutions train (tfjs alone refuses), same on wasm and cpu', async () => {
    const r = rng(12);
    const x = r.data([2, 11, 9, 4]);
    const w = r.data([3, 3, 4, 6]);
    const d = r.data([3, 3, 4, 1]);
    const p = r.data([1, 1, 4, 5]);
    const grads = (backend: 'cpu' | 'wasm') =>
      on(backend, () => {
        const vars = [w, d, p].map((v) => tf.variable(tensorOf(v)));
        const [vw, vd, vp] = vars as [tf.Variable<tf.Rank.R4>, tf.Variable<tf.Rank.R4>, tf.Variable<tf.Rank.R4>];
        const loss = (input: tf.Tensor) => {
          const a = tf.conv2d(input as tf.Tensor4D, vw, 1, 'same', 'NHWC', 2);
          const b = tf.depthwiseConv2d(input as tf.Tensor4D, vd, 1, 'valid', 'NHWC', 2);
          const c = tf.separableConv2d(input as tf.Tensor4D, vd, vp, 1, 'same', 2);
          return tf.add(tf.add(tf.sum(tf.square(a)), tf.sum(tf.sin(b))), tf.sum(tf.mul(c, c))) as tf.Scalar;
        };
        const out = gradients(loss, x, vars);
        tf.dispose(vars);
        return out;
      });
    // Reference: the same network with the dilated filters written out (undilated ops), on cpu.
    const reference = await on('cpu', () =>
      scoped(() => {
        const vars = [w, d, p].map((v) => tf.variable(tensorOf(v)));
        const [vw, vd, vp] = vars as [tf.Variable<tf.Rank.R4>, tf.Variable<tf.Rank.R4>, tf.Variable<tf.Rank.R4>];
        const loss = (input: tf.Tensor) => {
          const wd = dilateFilter(vw, 2, 2);
          const dd = dilateFilter(vd, 2, 2);
          const a = tf.conv2d(input as tf.Tensor4D, wd, 1, 'same');
          const b = tf.depthwiseConv2d(input as tf.Tensor4D, dd, 1, 'valid');
          const c = tf.separableConv2d(input as tf.Tensor4D, dd, vp, 1, 'same');
          return tf.add(tf.add(tf.sum(tf.square(a)), tf.sum(tf.sin(b))), tf.sum(tf.mul(c, c))) as tf.Scalar;
        };
        const out = gradients(loss, x, vars);
        tf.dispose(vars);
        return out;
      }),
    );
    const cpu = await grads('cpu');
    const wasm = await grads('wasm');
    reference.forEach((g, i) => {
      assertClose(cpu[i]!, g, `cpu gradient ${i}`, 1e-4);
      assertClose(wasm[i]!, g, `wasm gradient ${i}`, 1e-4);
    });
  });
});
