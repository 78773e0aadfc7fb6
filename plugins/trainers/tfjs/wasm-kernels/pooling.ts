import * as tf from '@tensorflow/tfjs';
import { Heap } from './heap.ts';

/**
 * Pooling gradients (NHWC) in our own SIMD kernels, replacing tfjs-backend-wasm's scalar ones
 * (~70 ms for average and ~200 ms for max pooling of 64×28×28×32 here, several times a
 * forward convolution).
 */

function poolInfo(
  input: tf.TensorInfo,
  a: {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  },
): tf.backend_util.Conv2DInfo {
  if (input.shape.length !== 4) throw new Error('wasm-kernels: pooling gradient needs a rank-4 input');
  return tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
}

/**
 * dx of avgPool. Matches tfjs's own cpu and wasm kernels, which weigh every window by
 * 1/(KH·KW) — even where a 'same' window hangs over the border, although the forward pass
 * divides those by the number of pixels inside. (TensorFlow divides by that count in both.)
 */
export const avgPoolGrad: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const heap = Heap.of(backend);
  const dy = inputs['dy']!;
  const input = inputs['input']!;
  const c = poolInfo(input, attrs as unknown as tf.AvgPoolGradAttrs);
  const dx = heap.alloc(input.shape, true);
  heap.kernels.avg_pool_grad(
    heap.address(dy),
    heap.address(dx),
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    1,
    1,
    c.padInfo.top,
    c.padInfo.left,
    1 / (c.filterHeight * c.filterWidth),
  );
  return dx;
};

/** dx of maxPool: dy to the first window maximum of x, as tfjs's cpu kernel does. */
export const maxPoolGrad: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const heap = Heap.of(backend);
  const dy = inputs['dy']!;
  const input = inputs['input']!;
  const c = poolInfo(input, attrs as unknown as tf.MaxPoolGradAttrs);
  const dx = heap.alloc(input.shape, true);
  heap.kernels.max_pool_grad(
    heap.address(input),
    heap.address(dy),
    heap.address(dx),
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    1,
    1,
    c.padInfo.top,
    c.padInfo.left,
  );
  return dx;
};
