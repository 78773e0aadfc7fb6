import * as tf from '@tensorflow/tfjs';
import { compileWat } from '../../../../core/wasm/compile-wat.ts';
import { kernelsWat } from './wat.ts';

/**
 * Typed access to the parts of tfjs-backend-wasm's BackendWasm that kernels need, and our own
 * WebAssembly kernels (wat.ts) instantiated on the SAME memory as the backend, so they read and
 * write tensors in place: no copy in or out, and their outputs are ordinary backend tensors.
 *
 * The backend's published type declares `wasm` through emscripten's global types, which this
 * project does not install, so we describe the few members we use ourselves.
 */
interface EmscriptenModule {
  HEAPU8: Uint8Array;
  /** The instance's exports; emscripten keeps the memory under its own name here. */
  asm?: { memory?: WebAssembly.Memory };
}
interface TensorData {
  memoryOffset: number;
}
interface BackendWasmInternals {
  wasm: EmscriptenModule;
  dataIdMap: { get(dataId: tf.DataId): TensorData | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/** The exports of wat.ts (addresses and strides in bytes; see there). */
export interface HeapKernels {
  dw_forward(
    x: number,
    w: number,
    y: number,
    N: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    KH: number,
    KW: number,
    sh: number,
    sw: number,
    dh: number,
    dw: number,
    pt: number,
    pl: number,
    wsh: number,
    wsw: number,
  ): void;
  dw_scatter(
    dy: number,
    w: number,
    dx: number,
    N: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    KH: number,
    KW: number,
    sh: number,
    sw: number,
    dh: number,
    dw: number,
    pt: number,
    pl: number,
    wsh: number,
    wsw: number,
  ): void;
  dw_filter_grad(
    x: number,
    dy: number,
    acc: number,
    N: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    KH: number,
    KW: number,
    sh: number,
    sw: number,
    dh: number,
    dw: number,
    pt: number,
    pl: number,
  ): void;
  avg_pool_grad(
    dy: number,
    dx: number,
    N: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    KH: number,
    KW: number,
    sh: number,
    sw: number,
    dh: number,
    dw: number,
    pt: number,
    pl: number,
    mult: number,
  ): void;
  max_pool_grad(
    x: number,
    dy: number,
    dx: number,
    N: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    KH: number,
    KW: number,
    sh: number,
    sw: number,
    dh: number,
    dw: number,
    pt: number,
    pl: number,
  ): void;
  copy4(
    src: number,
    dst: number,
    n0: number,
    n1: number,
    n2: number,
    n3: number,
    s0: number,
    s1: number,
    s2: number,
    s3: number,
    t0: number,
    t1: number,
    t2: number,
    t3: number,
  ): void;
  col_sum(x: number, out: number, R: number, C: number, scale: number): void;
  atb(a: number, b: number, out: number, P: number, M: number, N: number): void;
  ab(a: number, b: number, out: number, P: number, K: number, N: number, bias: number, relu: number): void;
}

// Compiled (or read from the compile cache) once per process, as the controller's matrix
// kernels are; instantiated once per backend instance, against its memory.
const compiled = await compileWat('wasm-kernels.wat', kernelsWat, { simd: true, bulk_memory: true });

const heaps = new WeakMap<object, Heap>();

/**
 * One wasm backend seen from our kernels: tensor addresses, allocation and freeing of
 * intermediates (backend tensors that the engine never sees), and our kernels on its memory.
 */
export class Heap {
  readonly kernels: HeapKernels;
  private readonly backend: BackendWasmInternals;

  private constructor(backend: BackendWasmInternals) {
    this.backend = backend;
    const memory = backend.wasm.asm?.memory;
    if (!(memory instanceof WebAssembly.Memory)) {
      throw new Error('wasm-kernels: tfjs-backend-wasm does not expose its memory (wasm.asm.memory); unsupported version');
    }
    this.kernels = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as HeapKernels;
  }

  /** The Heap of a wasm backend, as handed to a kernelFunc. */
  static of(backend: object): Heap {
    let heap = heaps.get(backend);
    if (heap === undefined) {
      if (!isBackendWasm(backend)) throw new Error('wasm-kernels: expected the tfjs wasm backend');
      heap = new Heap(backend);
      heaps.set(backend, heap);
    }
    return heap;
  }

  /** Byte address of a tensor's data. */
  address(t: tf.TensorInfo): number {
    const data = this.backend.dataIdMap.get(t.dataId);
    if (data === undefined) throw new Error('wasm-kernels: tensor is not on the wasm backend');
    return data.memoryOffset;
  }

  /** A new tensor (float32 unless said; uninitialised, or zero-filled), owned by the caller. */
  alloc(shape: number[], zeroed = false, dtype: 'float32' | 'int32' = 'float32'): tf.TensorInfo {
    const t = this.backend.makeOutput(shape, dtype);
    if (zeroed) this.zero(t);
    return t;
  }

  zero(t: tf.TensorInfo): void {
    const at = this.address(t);
    // The heap may have grown since the last call: always take the current view.
    this.backend.wasm.HEAPU8.fill(0, at, at + 4 * tf.util.sizeFromShape(t.shape));
  }

  /** Frees intermediates made by alloc() or by other kernels. */
  free(...ts: Array<tf.TensorInfo | undefined>): void {
    for (const t of ts) if (t !== undefined) this.backend.disposeData(t.dataId);
  }

  /** The same data under another shape (no copy, no new reference: never free it separately). */
  static view(t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return { dataId: t.dataId, dtype: t.dtype, shape };
  }
}

function isBackendWasm(backend: object): backend is BackendWasmInternals {
  const b = backend as Partial<BackendWasmInternals>;
  return (
    typeof b.makeOutput === 'function' && typeof b.disposeData === 'function' && b.dataIdMap !== undefined && b.wasm !== undefined
  );
}
