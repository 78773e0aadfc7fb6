import * as tf from '@tensorflow/tfjs';

/**
 * tfjs-backend-wasm's own kernels, captured before we register ours over some of them. Our
 * kernels call them the way the backend's kernels call each other (FusedConv2D, BatchMatMul and
 * Sum in tfjs-backend-wasm call kernelFuncs directly with the same backend, then dispose
 * intermediates with backend.disposeData): a direct call bypasses the engine, so nothing is
 * recorded on the gradient tape or counted as a tensor, and each intermediate must be freed.
 */
const captured = new Map<string, tf.KernelConfig>();

/** Remembers the wasm kernel registered under that name, unless it is one of `ours`. */
export function captureStock(kernelName: string, ours: ReadonlySet<tf.KernelFunc>): void {
  if (captured.has(kernelName)) return;
  const config = tf.getKernel(kernelName, 'wasm');
  if (config !== undefined && !ours.has(config.kernelFunc)) captured.set(kernelName, config);
}

export function stockKernel(kernelName: string): tf.KernelFunc | undefined {
  return captured.get(kernelName)?.kernelFunc;
}

/**
 * The stock kernel's setup and dispose functions. Ours carry them when they replace a stock
 * kernel: the engine runs a kernel's setupFunc when a wasm backend initializes (that is where
 * tfjs-backend-wasm binds its C functions), so a wasm backend created after registration still
 * gets the stock kernels we call ready.
 */
export function stockLifecycle(kernelName: string): Pick<tf.KernelConfig, 'setupFunc' | 'disposeFunc'> {
  const config = captured.get(kernelName);
  const lifecycle: Pick<tf.KernelConfig, 'setupFunc' | 'disposeFunc'> = {};
  if (config?.setupFunc !== undefined) lifecycle.setupFunc = config.setupFunc;
  if (config?.disposeFunc !== undefined) lifecycle.disposeFunc = config.disposeFunc;
  return lifecycle;
}

/** Calls a stock kernel that has exactly one output. */
export function runStock(
  kernelName: string,
  backend: object,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const kernel = captured.get(kernelName)?.kernelFunc;
  if (kernel === undefined) throw new Error(`wasm-kernels: stock wasm kernel ${kernelName} is not registered`);
  const out = kernel({ inputs, attrs, backend });
  if (Array.isArray(out)) throw new Error(`wasm-kernels: ${kernelName} returned several outputs`);
  return out;
}
