import * as tf from '@tensorflow/tfjs';
import { canCopyBox, copyBox, stridesOf } from './copy.ts';
import { Heap } from './heap.ts';
import { runStock } from './stock.ts';

/**
 * Identity and same-dtype Cast share the input's data (one more reference) instead of copying
 * it, as the cpu backend's Identity does. The copies are costly in training: tfjs clones (via
 * Identity) every tensor a gradient saves — ~55 full activation copies per step of the small
 * NASNet child — and casts float32 to float32 in relu's and avgPool's paths. Safe because no
 * kernel writes into its inputs; Reshape in tfjs-backend-wasm shares data the same way.
 */
interface RefCounting {
  incRef(dataId: tf.DataId): void;
}

function share(backend: object, x: tf.TensorInfo): tf.TensorInfo {
  (backend as RefCounting).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identity: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs['x']!;
  if (x.dtype === 'string') return runStock(tf.Identity, backend, inputs, attrs);
  return share(backend, x);
};

export const cast: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs['x']!;
  const { dtype } = attrs as unknown as tf.CastAttrs;
  if (dtype !== x.dtype || x.dtype === 'string') return runStock(tf.Cast, backend, inputs, attrs);
  return share(backend, x);
};

/**
 * Tile of 4-byte data (float32, int32) as one strided copy: each output axis i of size
 * reps[i]·n[i] is split into (reps[i], n[i]) with source strides (0, stride[i]), so broadcasting
 * a [1,1,1,C] tensor over an activation is a copy with stride 0. tfjs-backend-wasm's Tile
 * takes ~200 ms for that (64×28×28×32), which made tf.broadcastTo unusable in gradients.
 * Boxes that stay above rank 4 after merging go to the stock kernel.
 */
export const tile: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs['x']!;
  const { reps } = attrs as unknown as tf.TileAttrs;
  if ((x.dtype !== 'float32' && x.dtype !== 'int32') || reps.length !== x.shape.length)
    return runStock(tf.Tile, backend, inputs, attrs);
  const dims: number[] = [];
  const src: number[] = [];
  const outShape = x.shape.map((n, i) => n * reps[i]!);
  const dst: number[] = [];
  const xStrides = stridesOf(x.shape);
  const outStrides = stridesOf(outShape);
  x.shape.forEach((n, i) => {
    dims.push(reps[i]!, n);
    src.push(0, xStrides[i]!);
    dst.push(n * outStrides[i]!, outStrides[i]!);
  });
  const heap = Heap.of(backend);
  const from = { at: heap.address(x), strides: src };
  if (!canCopyBox(dims, from, { at: 0, strides: dst })) return runStock(tf.Tile, backend, inputs, attrs);
  const out = heap.alloc(outShape, false, x.dtype);
  copyBox(heap, dims, from, { at: heap.address(out), strides: dst });
  return out;
};
