/**
 * Picks and loads the tfjs backend. Preference: tfjs-node-gpu (CUDA), tfjs-node (native
 * CPU), WASM with nasnet's training kernels, pure JS. The two native packages are optional
 * dependencies that cannot install everywhere, so they are imported only when present.
 */
export type Tf = typeof import('@tensorflow/tfjs');
export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

export interface TfRuntime {
  tf: Tf;
  /** What was chosen, as reported in results: `tensorflow-gpu`, `tensorflow`, `wasm` or `cpu`. */
  backend: BackendChoice;
  /** The device in words, e.g. `CUDA GPU`, `CPU (libtensorflow)`, `CPU (WebAssembly SIMD, 1 thread)`. */
  device: string;
}

export class BackendUnavailableError extends Error {
  constructor(backend: string, reason: string) {
    super(`backend ${backend} is not available here: ${reason}`);
    this.name = 'BackendUnavailableError';
  }
}

async function tryImport(name: string): Promise<Tf | null> {
  try {
    return (await import(name)) as Tf;
  } catch {
    return null;
  }
}

async function load(choice: BackendChoice): Promise<TfRuntime> {
  if (choice === 'tensorflow-gpu' || choice === 'tensorflow') {
    const tf = await tryImport(choice === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node');
    if (!tf) throw new BackendUnavailableError(choice, `@tensorflow/tfjs-node${choice === 'tensorflow-gpu' ? '-gpu' : ''} is not installed (its install step downloads libtensorflow)`);
    await tf.setBackend('tensorflow');
    return { tf, backend: choice, device: choice === 'tensorflow-gpu' ? 'CUDA GPU (libtensorflow)' : 'CPU (libtensorflow)' };
  }
  const tf = (await import('@tensorflow/tfjs')) as Tf;
  // Without it the CPU backend greets every process with advice to install tfjs-node.
  tf.env().set('PROD', true);
  if (choice === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new BackendUnavailableError('wasm', 'the WebAssembly backend failed to start');
    // The stock WASM backend cannot train convolutions; these kernels make it (see wasm-kernels/).
    const { registerWasmTrainingKernels } = await import('./wasm-kernels/index.ts');
    registerWasmTrainingKernels();
    return { tf, backend: 'wasm', device: 'CPU (WebAssembly SIMD)' };
  }
  await tf.setBackend('cpu');
  return { tf, backend: 'cpu', device: 'CPU (plain JavaScript)' };
}

/** Loads `preferred` (or the best available) and makes it the active backend. */
export async function loadTf(preferred?: BackendChoice): Promise<TfRuntime> {
  if (preferred) return load(preferred);
  for (const choice of BACKENDS) {
    try {
      return await load(choice);
    } catch (error) {
      if (!(error instanceof BackendUnavailableError)) throw error;
    }
  }
  throw new BackendUnavailableError('any', 'no tfjs backend could start');
}
