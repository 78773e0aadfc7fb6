import type { Heap } from './heap.ts';

/**
 * One side of a strided copy: a byte address and a stride in ELEMENTS per axis (negative
 * strides walk backwards, zero repeats an element).
 */
export interface Side {
  readonly at: number;
  readonly strides: readonly number[];
}

/**
 * dst[i] = src[i] for every index i of the box `dims`, both sides addressed through their own
 * strides (see wat.ts copy4). Drops unit axes, merges axes that are adjacent on both sides, and
 * orders the loops so that the innermost axis is contiguous in the destination and the next one
 * contiguous in the source. When the innermost axis is long and strided in the source (a
 * transpose such as [P, C] → [C, P]), it is cut into blocks walked outermost, so that each block
 * reads a few KiB of source lines over and over instead of streaming the whole source C times.
 */
export function copyBox(heap: Heap, dims: readonly number[], src: Side, dst: Side): void {
  const axes = plan(dims, src, dst);
  if (axes === undefined) return;
  const inner = axes[axes.length - 1];
  const outside = axes[axes.length - 2];
  if (inner !== undefined && outside !== undefined && inner.s !== 1 && outside.s === 1 && axes.length < 4) {
    // Blocks of B along the inner axis: B source rows of `outside.n` elements each, ~16 KiB.
    const B = Math.max(8, Math.floor(4096 / outside.n));
    if (inner.n > B) {
      const blocks = Math.floor(inner.n / B);
      const head = axes.slice(0, -1);
      copy4(heap, [{ n: blocks, s: B * inner.s, t: B * inner.t }, ...head, { n: B, s: inner.s, t: inner.t }], src.at, dst.at);
      const rest = inner.n - blocks * B;
      if (rest > 0)
        copy4(
          heap,
          [...head, { n: rest, s: inner.s, t: inner.t }],
          src.at + 4 * blocks * B * inner.s,
          dst.at + 4 * blocks * B * inner.t,
        );
      return;
    }
  }
  copy4(heap, axes, src.at, dst.at);
}

/** Whether copyBox can copy this box (at most 4 axes once unit axes are dropped and runs merged). */
export function canCopyBox(dims: readonly number[], src: Side, dst: Side): boolean {
  return (plan(dims, src, dst)?.length ?? 0) <= 4;
}

/** The loop axes of a copy, outermost first; undefined when the box is empty. */
function plan(dims: readonly number[], src: Side, dst: Side): Axis[] | undefined {
  const axes: Axis[] = dims.map((n, i) => ({ n, s: src.strides[i] ?? 0, t: dst.strides[i] ?? 0 })).filter((a) => a.n !== 1);
  if (axes.some((a) => a.n === 0)) return undefined;
  // Destination order (largest |stride| outermost), then pull the source-contiguous axis to
  // just inside the destination-contiguous one.
  axes.sort((p, q) => Math.abs(q.t) - Math.abs(p.t));
  const srcInner = axes.findIndex((a) => a.s === 1);
  if (srcInner >= 0 && srcInner < axes.length - 2) {
    const [a] = axes.splice(srcInner, 1);
    axes.splice(axes.length - 1, 0, a!);
  }
  return merge(axes);
}

interface Axis {
  n: number;
  /** Source stride, elements. */
  s: number;
  /** Destination stride, elements. */
  t: number;
}

/** Merges an axis into the one inside it when both sides step over the pair as one run. */
function merge(axes: readonly Axis[]): Axis[] {
  const merged: Axis[] = [];
  for (const a of axes) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.s === a.s * a.n && last.t === a.t * a.n) {
      merged[merged.length - 1] = { n: last.n * a.n, s: a.s, t: a.t };
    } else {
      merged.push({ ...a });
    }
  }
  return merged;
}

function copy4(heap: Heap, axes: readonly Axis[], srcAt: number, dstAt: number): void {
  if (axes.length > 4) throw new Error(`wasm-kernels: copy of rank ${axes.length} after merging is not supported`);
  const padded = [...Array.from({ length: 4 - axes.length }, (): Axis => ({ n: 1, s: 0, t: 0 })), ...axes];
  const [a0, a1, a2, a3] = padded as [Axis, Axis, Axis, Axis];
  heap.kernels.copy4(
    srcAt,
    dstAt,
    a0.n,
    a1.n,
    a2.n,
    a3.n,
    4 * a0.s,
    4 * a1.s,
    4 * a2.s,
    4 * a3.s,
    4 * a0.t,
    4 * a1.t,
    4 * a2.t,
    4 * a3.t,
  );
}

/** Row-major element strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}
