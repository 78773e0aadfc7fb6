import * as tf from '@tensorflow/tfjs';
import { conv2D, conv2DBackpropFilter, conv2DBackpropInput, fusedConv2D, fusedDepthwiseConv2D } from './conv2d.ts';
import { depthwiseConv2dNative, depthwiseConv2dNativeBackpropFilter, depthwiseConv2dNativeBackpropInput } from './depthwise.ts';
import { registerTrainingGradients } from '../training-gradients.ts';
import { avgPoolGrad, maxPoolGrad } from './pooling.ts';
import { mean, sum } from './reduce.ts';
import { cast, identity, tile } from './sharing.ts';
import { captureStock, stockKernel, stockLifecycle } from './stock.ts';

/**
 * Kernels that let tfjs models train on the `wasm` backend (tfjs-backend-wasm 4.22), and fast.
 * Registered per kernel name for the wasm backend, so every path reaches them: plain ops, fused
 * ops (tf.fused.conv2d's gradient calls Conv2DBackpropInput/Filter directly) and tf.layers.
 *
 *  - missing on stock wasm: Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropInput,
 *    DepthwiseConv2dNativeBackpropFilter;
 *  - replaced because the stock ones are slow: Conv2DBackpropInput, DepthwiseConv2dNative,
 *    Conv2D and FusedConv2D when 1×1 (the rest goes to the stock kernels),
 *    AvgPoolGrad, MaxPoolGrad; Sum and Mean over non-innermost axes (the rest goes to the stock
 *    kernels, reduce.ts); Identity and same-dtype Cast, which copy data on stock wasm, and
 *    Tile (sharing.ts);
 *  - plus gradient functions (../training-gradients.ts, for all backends): those of dilated Conv2D /
 *    DepthwiseConv2dNative, which tfjs refuses on every backend, and those of Sum and Mean
 *    without tfjs's ones(x.shape), which is filled in JavaScript.
 */
const kernels: ReadonlyArray<readonly [string, tf.KernelFunc]> = [
  [tf.Conv2D, conv2D],
  [tf.FusedConv2D, fusedConv2D],
  [tf.Conv2DBackpropInput, conv2DBackpropInput],
  [tf.Conv2DBackpropFilter, conv2DBackpropFilter],
  [tf.DepthwiseConv2dNative, depthwiseConv2dNative],
  [tf.FusedDepthwiseConv2D, fusedDepthwiseConv2D],
  [tf.DepthwiseConv2dNativeBackpropInput, depthwiseConv2dNativeBackpropInput],
  [tf.DepthwiseConv2dNativeBackpropFilter, depthwiseConv2dNativeBackpropFilter],
  [tf.AvgPoolGrad, avgPoolGrad],
  [tf.MaxPoolGrad, maxPoolGrad],
  [tf.Sum, sum],
  [tf.Mean, mean],
  [tf.Identity, identity],
  [tf.Cast, cast],
  [tf.Tile, tile],
];

/** Stock kernels ours are built on (called directly) or replace (kept for comparison). */
const stockUsed = [tf.BatchMatMul, tf._FusedMatMul, ...kernels.map(([name]) => name)];

/** Kernel names this module registers for the wasm backend. */
export const wasmTrainingKernelNames: readonly string[] = kernels.map(([name]) => name);

/**
 * Registers the kernels for the `wasm` backend; idempotent. Call it once the wasm backend is
 * available (e.g. after `await tf.setBackend('wasm')`): it needs tfjs-backend-wasm's own kernels
 * registered, which importing '@tensorflow/tfjs-backend-wasm' does.
 */
export function registerWasmTrainingKernels(): void {
  if (tf.getKernel(tf.Conv2D, 'wasm') === undefined) {
    throw new Error("wasm-kernels: the wasm backend's kernels are not registered; import '@tensorflow/tfjs-backend-wasm' first");
  }
  const ours = new Set(kernels.map(([, kernelFunc]) => kernelFunc));
  for (const name of stockUsed) captureStock(name, ours);
  for (const [kernelName, kernelFunc] of kernels) {
    const current = tf.getKernel(kernelName, 'wasm');
    if (current?.kernelFunc === kernelFunc) continue;
    // Unregister first: registerKernel over an existing entry works but logs a warning.
    if (current !== undefined) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc, ...stockLifecycle(kernelName) });
  }
  registerTrainingGradients(ourKernelsActive);
}

function ourKernelsActive(): boolean {
  return tf.getBackend() === 'wasm' && tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')?.kernelFunc === conv2DBackpropFilter;
}

/**
 * The stock tfjs-backend-wasm kernel of that name as it was before registration (undefined
 * where there is none), for comparisons in tests and benchmarks.
 */
export function stockWasmKernel(kernelName: string): tf.KernelFunc | undefined {
  return stockKernel(kernelName);
}
