import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** wabt's feature flags that nasnet's kernels use. */
export interface WatFeatures {
  simd?: boolean;
  bulk_memory?: boolean;
}

const CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/nasnet-wasm/', import.meta.url));

/**
 * Compiles WebAssembly text to a module. The kernels are kept as readable WAT (no binary in
 * the repository, no build step), but loading wabt — a large emscripten module — cost most of
 * a second on every `nasnet` start. So the binary is cached on disk by a hash of the source
 * and the flags, and wabt is loaded only when the source changed. A cache that cannot be read
 * or written is simply not used.
 */
export async function compileWat(name: string, source: string, features: WatFeatures): Promise<WebAssembly.Module> {
  const key = createHash('sha256')
    .update(JSON.stringify([name, features, source]))
    .digest('hex')
    .slice(0, 32);
  const cached = `${CACHE_DIR}${key}.wasm`;
  try {
    return new WebAssembly.Module(await readFile(cached));
  } catch {
    // not cached yet (or unreadable): compile below
  }
  const { default: wabtInit } = await import('wabt');
  const wabt = await wabtInit();
  const parsed = wabt.parseWat(name, source, features);
  const binary = new Uint8Array(parsed.toBinary({}).buffer);
  parsed.destroy();
  const module = new WebAssembly.Module(binary);
  try {
    await mkdir(CACHE_DIR, { recursive: true });
    // Written aside and renamed, so a concurrent reader never sees half a file.
    const partial = `${cached}.${process.pid}.tmp`;
    await writeFile(partial, binary);
    await rename(partial, cached);
  } catch {
    // a read-only install still works, it only compiles every time
  }
  return module;
}
