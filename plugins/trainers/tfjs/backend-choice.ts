import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BACKENDS, type BackendChoice } from './tf-runtime.ts';
import type { AdapterDescription } from './webgpu-adapter.ts';

/**
 * Which backend automatic loading (`loadTf()` without an argument) would take, told without
 * loading them all in one process; and, run as a script, the WebGPU probe `nasnet doctor`
 * runs in a child process.
 */

/** Whether a backend would start: `null` when that cannot be told (a probe crashed or hung). */
export interface Availability {
  available: boolean | null;
  /** A few words: `tfjs-node is not installed`, `the only WebGPU adapter is a software one`. */
  why: string;
}

export interface AutomaticChoice {
  backend: BackendChoice | null;
  reason: string;
}

/**
 * The first of BACKENDS that is available, as `loadTf()` tries them; null when one before it
 * cannot be told (automatic loading would meet the same crash or hang).
 */
export function automaticBackend(availability: Record<BackendChoice, Availability>): AutomaticChoice {
  const passed: string[] = [];
  for (const choice of BACKENDS) {
    const { available, why } = availability[choice];
    if (available === null)
      return { backend: null, reason: [...passed, `cannot tell whether ${choice} would start: ${why}`].join(', ') };
    if (available) return { backend: choice, reason: passed.length > 0 ? `${passed.join(', ')}; ${why}` : why };
    passed.push(why);
  }
  return { backend: null, reason: `${passed.join(', ')}; no backend would start` };
}

/**
 * What the probe prints, one JSON object a line, merged by the reader: the adapter first, so
 * that a crash in tfjs's kernels still leaves it listed; then whether a tiny op computes.
 */
export interface WebGpuProbe {
  adapter?: AdapterDescription | null;
  computes?: boolean | null;
  detail?: string;
}

function emit(line: WebGpuProbe): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/**
 * Lists the adapter (a software one too) and runs 1 + 1 on it through tfjs's webgpu backend.
 * Loading that backend makes it the process's global tfjs backend, hence its own process.
 */
async function probeWebGpu(): Promise<void> {
  const { findAdapter, NoAdapterError } = await import('./webgpu-adapter.ts');
  try {
    emit({ adapter: (await findAdapter({ allowSoftware: true })).description });
  } catch (error) {
    if (!(error instanceof NoAdapterError)) throw error;
    emit({ adapter: null, computes: null, detail: error.message });
    return;
  }
  const { loadTf } = await import('./tf-runtime.ts');
  try {
    const { tf, errorScope } = await loadTf('webgpu');
    const closeScope = errorScope();
    const sum = await tf.add(tf.ones([2]), tf.ones([2])).data();
    const fault = await closeScope();
    if (fault) emit({ computes: false, detail: `tfjs's webgpu backend: the device reported ${fault}` });
    else if (sum[0] !== 2 || sum[1] !== 2) emit({ computes: false, detail: `tfjs's webgpu backend computes 1 + 1 = ${sum[0]}` });
    else emit({ computes: true, detail: "tfjs's webgpu backend computes on it" });
  } catch (error) {
    emit({ computes: false, detail: `tfjs's webgpu backend does not start: ${(error as Error).message}` });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // Dawn's instance keeps the event loop alive: leave once the lines are out (a pipe write is synchronous on Linux; the callback covers the rest).
  probeWebGpu().then(
    () => process.stdout.write('', () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
