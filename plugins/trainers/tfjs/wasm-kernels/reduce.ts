import * as tf from '@tensorflow/tfjs';
import { Heap } from './heap.ts';
import { runStock } from './stock.ts';

/**
 * Sum and Mean over a run of consecutive axes that are not the innermost ones — the per-channel
 * reductions of batch normalization, bias gradients and global average pooling on NHWC tensors
 * (axes [0,1,2] or [1,2]). tfjs-backend-wasm first transposes the reduced axes innermost, a
 * full copy with poor locality (~20 ms for 64×28×28×32 here); wat.ts col_sum sums the rows of
 * each [R, C] slice in place. Everything else goes to the stock kernel.
 */
function reduceAlongRows(kernelName: string, scaleBy: (rows: number) => number): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const x = inputs['x']!;
    const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
    const plan = x.dtype === 'float32' ? planRows(x.shape, axis) : undefined;
    if (plan === undefined) return runStock(kernelName, backend, inputs, attrs);
    const heap = Heap.of(backend);
    const { outer, rows, inner, axes } = plan;
    const outShape = keepDims
      ? tf.backend_util.expandShapeToKeepDim(
          x.shape.filter((_, i) => !axes.includes(i)),
          axes,
        )
      : x.shape.filter((_, i) => !axes.includes(i));
    const out = heap.alloc(outShape);
    const xAt = heap.address(x);
    const outAt = heap.address(out);
    const scale = scaleBy(rows);
    for (let o = 0; o < outer; o++) heap.kernels.col_sum(xAt + 4 * o * rows * inner, outAt + 4 * o * inner, rows, inner, scale);
    return out;
  };
}

/** [outer, rows, inner] view of x for a reduction over consecutive non-innermost axes. */
function planRows(
  shape: readonly number[],
  axis: number | number[],
): { outer: number; rows: number; inner: number; axes: number[] } | undefined {
  const axes = [...new Set(tf.util.parseAxisParam(axis, shape as number[]))].sort((a, b) => a - b);
  if (axes.length === 0) return undefined;
  const first = axes[0]!;
  const last = axes[axes.length - 1]!;
  if (last - first + 1 !== axes.length) return undefined;
  const size = (from: number, to: number) => shape.slice(from, to).reduce((p, n) => p * n, 1);
  const inner = size(last + 1, shape.length);
  const rows = size(first, last + 1);
  // Innermost reductions need no transpose in the stock kernel; empty tensors are its business.
  if (inner === 1 || rows === 0 || inner === 0) return undefined;
  return { outer: size(0, first), rows, inner, axes };
}

export const sum = reduceAlongRows(tf.Sum, () => 1);
export const mean = reduceAlongRows(tf.Mean, (rows) => 1 / rows);
