import { readFile } from 'node:fs/promises';
import { compileWat } from '../../wasm/compile-wat.ts';

/**
 * The controller's dense products in WebAssembly SIMD (matrix.wat), about 4× the speed of
 * the same loops in JavaScript here. The kernels run in a fixed summation order, so they are
 * as reproducible as plain JavaScript. The WAT source is compiled (or read from the compile
 * cache) once per process when this module loads; each user gets its own instance (and memory).
 */
const wat = await readFile(new URL('./matrix.wat', import.meta.url), 'utf8');
const compiled = await compileWat('matrix.wat', wat, { simd: true });

interface Exports {
  memory: WebAssembly.Memory;
  matmul_add(w: number, rows: number, cols: number, x: number, batch: number, out: number): void;
  matmul_transposed_add(w: number, rows: number, cols: number, d: number, batch: number, out: number): void;
}

const up = (n: number, multiple: number) => Math.ceil(n / multiple) * multiple;

/**
 * Products with one resident matrix M (rows × cols), copied in once with setMatrix():
 *   multiplyAdd:            out[b] += M · x[b]
 *   multiplyTransposedAdd:  out[b] += Mᵀ · d[b]
 * and a general productAdd for operands that change every call.
 */
export class MatrixKernels {
  private readonly exports: Exports;
  private rows = 0;
  private cols = 0;
  /** Padded shape: the kernels work on rows in fours and columns and batch rows in twos. */
  private prows = 0;
  private pcols = 0;

  constructor() {
    this.exports = new WebAssembly.Instance(compiled).exports as unknown as Exports;
  }

  setMatrix(values: Float64Array, offset: number, rows: number, cols: number): void {
    this.rows = rows;
    this.cols = cols;
    this.prows = up(rows, 4);
    this.pcols = up(cols, 2);
    const memory = this.view(this.prows * this.pcols);
    memory.fill(0, 0, this.prows * this.pcols);
    copyRows(values, offset, cols, rows, memory, 0, this.pcols);
  }

  /** out[b·rows + r] += Σ_j M[r][j] · x[xOffset + b·cols + j] for b < batch. */
  multiplyAdd(x: Float64Array, xOffset: number, batch: number, out: Float64Array, outOffset = 0): void {
    const { rows, cols, prows, pcols } = this;
    const pbatch = up(batch, 2);
    const xAt = prows * pcols;
    const outAt = xAt + pbatch * pcols;
    const memory = this.view(outAt + pbatch * prows);
    memory.fill(0, xAt, outAt + pbatch * prows);
    copyRows(x, xOffset, cols, batch, memory, xAt, pcols);
    copyRows(out, outOffset, rows, batch, memory, outAt, prows);
    this.exports.matmul_add(0, prows, pcols, xAt * 8, pbatch, outAt * 8);
    copyRows(memory, outAt, prows, batch, out, outOffset, rows, rows);
  }

  /** out[b·cols + j] += Σ_r M[r][j] · d[dOffset + b·rows + r] for b < batch. */
  multiplyTransposedAdd(d: Float64Array, dOffset: number, batch: number, out: Float64Array, outOffset = 0): void {
    const { rows, cols, prows, pcols } = this;
    const pbatch = up(batch, 2);
    const dAt = prows * pcols;
    const outAt = dAt + pbatch * prows;
    const memory = this.view(outAt + pbatch * pcols);
    memory.fill(0, dAt, outAt + pbatch * pcols);
    copyRows(d, dOffset, rows, batch, memory, dAt, prows);
    copyRows(out, outOffset, cols, batch, memory, outAt, pcols);
    this.exports.matmul_transposed_add(0, prows, pcols, dAt * 8, pbatch, outAt * 8);
    copyRows(memory, outAt, pcols, batch, out, outOffset, cols, cols);
  }

  /**
   * out[outOffset + i·xWidth + j] += Σ_k a[k·aWidth + i] · x[k·xWidth + j] over m rows: the
   * sum of outer products a[k] ⊗ x[k], e.g. a weight gradient Σ_t dz_t ⊗ h_t. Computed as a
   * product of the transposes, so the kernel streams contiguous rows.
   */
  outerProductsAdd(
    a: Float64Array,
    aWidth: number,
    x: Float64Array,
    xWidth: number,
    m: number,
    out: Float64Array,
    outOffset: number,
  ): void {
    // As products: out[i][j] = Σ_k xT[j][k] · aT[i][k], i.e. matmul_add with W = xT (xWidth × m) and batch = aT.
    const prows = up(xWidth, 4);
    const pm = up(m, 2);
    const pbatch = up(aWidth, 2);
    // After the resident matrix, which stays in place for the next products.
    const wAt = this.prows * this.pcols;
    const bAt = wAt + prows * pm;
    const outAt = bAt + pbatch * pm;
    const memory = this.view(outAt + pbatch * prows);
    memory.fill(0, wAt, outAt + pbatch * prows);
    for (let k = 0; k < m; k++) {
      for (let j = 0; j < xWidth; j++) memory[wAt + j * pm + k] = x[k * xWidth + j]!;
      for (let i = 0; i < aWidth; i++) memory[bAt + i * pm + k] = a[k * aWidth + i]!;
    }
    copyRows(out, outOffset, xWidth, aWidth, memory, outAt, prows);
    this.exports.matmul_add(wAt * 8, prows, pm, bAt * 8, pbatch, outAt * 8);
    copyRows(memory, outAt, prows, aWidth, out, outOffset, xWidth, xWidth);
  }

  /** A float64 view of memory holding at least `count` values (views die when memory grows). */
  private view(count: number): Float64Array {
    const memory = this.exports.memory;
    const needed = count * 8;
    if (memory.buffer.byteLength < needed) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / 65536));
    return new Float64Array(memory.buffer);
  }
}

/** Copies `count` rows of `width` values between row strides (the last argument trims what is copied). */
function copyRows(
  from: Float64Array,
  fromOffset: number,
  fromStride: number,
  count: number,
  to: Float64Array,
  toOffset: number,
  toStride: number,
  width = Math.min(fromStride, toStride),
): void {
  if (fromStride === toStride && width === fromStride) {
    to.set(from.subarray(fromOffset, fromOffset + count * width), toOffset);
    return;
  }
  for (let row = 0; row < count; row++) {
    to.set(from.subarray(fromOffset + row * fromStride, fromOffset + row * fromStride + width), toOffset + row * toStride);
  }
}
