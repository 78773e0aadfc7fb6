import type { AdapterDescription } from './webgpu-adapter.ts';

/**
 * Picks and loads the tfjs backend. Preference, the order of BACKENDS: tfjs-node-gpu (CUDA),
 * WebGPU on a hardware adapter, tfjs-node (native CPU), WASM with nasnet's training kernels,
 * pure JS. The native packages are optional dependencies that cannot install everywhere, so
 * they are imported only when present; a software WebGPU adapter is used only when asked for.
 */
export type Tf = typeof import('@tensorflow/tfjs');
export const BACKENDS = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

/** What one training step may hold in memory; see microBatchSize. */
export interface MemoryLimits {
  /** Bytes the activations, gradients and saved tensors of one step may take together. */
  stepBytes: number;
  /** The largest single tensor (WebGPU binds each tensor as one storage buffer). */
  tensorBytes: number;
}

export interface TfRuntime {
  tf: Tf;
  /** What was chosen, as reported in results: one of BACKENDS. */
  backend: BackendChoice;
  /** The device in words, e.g. `CUDA GPU`, `NVIDIA H200 (nvidia hopper, WebGPU)`, `CPU (WebAssembly SIMD)`. */
  device: string;
  /** The WebGPU adapter trained on (webgpu only). */
  adapter?: AdapterDescription;
  memory: MemoryLimits;
  /**
   * Opens an error scope on the device; the function it returns closes it and gives the first
   * error the device reported in between (or earlier, for a lost device), else null. A GPU
   * reports a rejected shader or a lost device on the side, not by throwing, and the numbers
   * read afterwards are garbage.
   */
  errorScope: () => () => Promise<string | null>;
}

export class BackendUnavailableError extends Error {
  constructor(backend: string, reason: string) {
    super(`backend ${backend} is not available here: ${reason}`);
    this.name = 'BackendUnavailableError';
  }
}

/** WebAssembly memory stops at 4 GB: a step gets 2.5 GB of it, the rest is weights and data. */
const WASM_MEMORY: MemoryLimits = { stepBytes: 2.5e9, tensorBytes: Number.POSITIVE_INFINITY };
/**
 * WebGPU does not tell how much memory a device has: a step gets 6 GB, which fits every
 * discrete GPU of the last years with room for a second child; NASNET_GPU_STEP_GB says more
 * for a larger device (a step of NASNet-A N=2 F=32 at batch 256 needs about 44 GB).
 */
const DEFAULT_WEBGPU_STEP_GB = 6;

function webgpuStepBytes(setting = process.env.NASNET_GPU_STEP_GB): number {
  if (setting === undefined || setting === '') return DEFAULT_WEBGPU_STEP_GB * 1e9;
  const gb = Number(setting);
  if (!(gb > 0)) throw new RangeError(`NASNET_GPU_STEP_GB must be a number of gigabytes > 0 (got ${JSON.stringify(setting)})`);
  return gb * 1e9;
}

/** CPU backends throw their errors. */
const noScope = () => async (): Promise<null> => null;

async function tryImport(name: string): Promise<Tf | null> {
  try {
    return (await import(name)) as Tf;
  } catch {
    return null;
  }
}

async function loadWebGpu(automatic: boolean): Promise<TfRuntime> {
  const { findAdapter, deviceName, NoAdapterError } = await import('./webgpu-adapter.ts');
  let found: Awaited<ReturnType<typeof findAdapter>>;
  try {
    found = await findAdapter({ allowSoftware: !automatic });
  } catch (error) {
    if (error instanceof NoAdapterError) throw new BackendUnavailableError('webgpu', error.message);
    throw error;
  }
  // tfjs's webgpu backend expects a browser: WebGPU's globals, and navigator.gpu, without which
  // it does not register itself on import. navigator.gpu hands it the adapter described here,
  // so what is reported is what is used.
  for (const [name, value] of Object.entries(Object.getOwnPropertyDescriptors(found.globals))) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, value);
  }
  const navigator = ((globalThis as { navigator?: object }).navigator ??= {});
  Object.defineProperty(navigator, 'gpu', {
    value: { requestAdapter: async () => found.adapter, wgslLanguageFeatures: found.gpu.wgslLanguageFeatures },
    configurable: true,
  });
  const tf = (await import('@tensorflow/tfjs')) as Tf;
  tf.env().set('PROD', true);
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu')))
    throw new BackendUnavailableError('webgpu', `the webgpu backend failed to start on ${deviceName(found.description)}`);
  const { limits } = found.description;
  const device = (tf.backend() as unknown as { device: GPUDevice }).device;
  let lost: string | null = null;
  void device.lost.then((info) => {
    lost = `the GPU device was lost (${info.reason}): ${info.message}`;
  });
  const errorScope = () => {
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    device.pushErrorScope('internal');
    return async () => {
      const errors = [await device.popErrorScope(), await device.popErrorScope(), await device.popErrorScope()];
      return errors.find((error) => error !== null)?.message ?? lost;
    };
  };
  return {
    tf,
    backend: 'webgpu',
    device: deviceName(found.description),
    adapter: found.description,
    memory: { stepBytes: webgpuStepBytes(), tensorBytes: Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) },
    errorScope,
  };
}

async function start(choice: BackendChoice, automatic: boolean): Promise<TfRuntime> {
  if (choice === 'tensorflow-gpu' || choice === 'tensorflow') {
    const tf = await tryImport(choice === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node');
    if (!tf)
      throw new BackendUnavailableError(
        choice,
        `@tensorflow/tfjs-node${choice === 'tensorflow-gpu' ? '-gpu' : ''} is not installed (its install step downloads libtensorflow)`,
      );
    await tf.setBackend('tensorflow');
    return {
      tf,
      backend: choice,
      device: choice === 'tensorflow-gpu' ? 'CUDA GPU (libtensorflow)' : 'CPU (libtensorflow)',
      memory: WASM_MEMORY,
      errorScope: noScope,
    };
  }
  if (choice === 'webgpu') return loadWebGpu(automatic);
  const tf = (await import('@tensorflow/tfjs')) as Tf;
  // Without it the CPU backend greets every process with advice to install tfjs-node.
  tf.env().set('PROD', true);
  if (choice === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new BackendUnavailableError('wasm', 'the WebAssembly backend failed to start');
    // The stock WASM backend cannot train convolutions; these kernels make it (see wasm-kernels/).
    const { registerWasmTrainingKernels } = await import('./wasm-kernels/index.ts');
    registerWasmTrainingKernels();
    return { tf, backend: 'wasm', device: 'CPU (WebAssembly SIMD)', memory: WASM_MEMORY, errorScope: noScope };
  }
  await tf.setBackend('cpu');
  return { tf, backend: 'cpu', device: 'CPU (plain JavaScript)', memory: WASM_MEMORY, errorScope: noScope };
}

async function load(choice: BackendChoice, automatic: boolean): Promise<TfRuntime> {
  const runtime = await start(choice, automatic);
  // tfjs refuses the gradient of a dilated convolution on every backend; these supply it.
  const { registerTrainingGradients } = await import('./training-gradients.ts');
  registerTrainingGradients();
  return runtime;
}

/** Loads `preferred` (or the best available) and makes it the active backend. */
export async function loadTf(preferred?: BackendChoice): Promise<TfRuntime> {
  if (preferred) return load(preferred, false);
  for (const choice of BACKENDS) {
    try {
      return await load(choice, true);
    } catch (error) {
      if (!(error instanceof BackendUnavailableError)) throw error;
    }
  }
  throw new BackendUnavailableError('any', 'no tfjs backend could start');
}
