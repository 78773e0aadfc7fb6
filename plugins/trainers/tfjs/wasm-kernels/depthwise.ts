import * as tf from '@tensorflow/tfjs';
import { copyBox, stridesOf } from './copy.ts';
import { Heap } from './heap.ts';
import { runStock } from './stock.ts';

/**
 * Depthwise convolution (NHWC) forward and gradients in our own SIMD kernels (wat.ts), which
 * walk the tensors in place. XNNPACK's depthwise convolution in tfjs-backend-wasm builds an
 * indirection buffer of KH·KW pointers per output pixel on every call and runs at ~4-5 GFLOP/s
 * here; the gradients it lacks altogether.
 *
 * A channel multiplier M > 1 is handled by treating the C·M output channels as independent
 * channels (the filter's memory layout [KH, KW, C, M] already is [KH, KW, C·M]): the input
 * gradient is then summed over each group of M, and the filter gradient uses x with every
 * channel repeated M times.
 */

interface DepthwiseAttrs {
  strides: [number, number] | number;
  dilations?: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function depthwiseInfo(xShape: readonly number[], filterShape: readonly number[], a: DepthwiseAttrs): tf.backend_util.Conv2DInfo {
  if (xShape.length !== 4 || filterShape.length !== 4)
    throw new Error('wasm-kernels: depthwise convolution needs rank-4 x and filter');
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    true,
  );
}

/**
 * y = depthwiseConv2d(x, w), replacing the stock kernel: ~1.8× (3×3) to ~2.8× (5×5) faster on
 * 64×28×28×32 here, and right where the stock one is wrong (filters one pixel wide with stride
 * 2 and 'same' padding; see conv2d.ts runStockConv).
 */
export const depthwiseConv2dNative: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const heap = Heap.of(backend);
  const x = inputs['x']!;
  const filter = inputs['filter']!;
  const a = attrs as unknown as tf.DepthwiseConv2dNativeAttrs;
  if (a.dataFormat === 'NCHW') return runStock(tf.DepthwiseConv2dNative, backend, inputs, attrs);
  const c = depthwiseInfo(x.shape, filter.shape, a);
  const M = filter.shape[3]!;
  const y = heap.alloc(c.outShape);
  if (M !== 1) {
    // out[.., c·M + q] = Σ x[.., c] · w[.., c, q]: x with each channel repeated M times.
    const xRep = repeatChannels(heap, x, M);
    forward(heap, xRep, filter, y, c, c.inChannels * M);
    heap.free(xRep);
  } else {
    forward(heap, x, filter, y, c, c.inChannels);
  }
  return y;
};

function forward(
  heap: Heap,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  y: tf.TensorInfo,
  c: tf.backend_util.Conv2DInfo,
  C: number,
): void {
  heap.kernels.dw_forward(
    heap.address(x),
    heap.address(filter),
    heap.address(y),
    c.batchSize,
    c.inHeight,
    c.inWidth,
    C,
    c.outHeight,
    c.outWidth,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    c.dilationHeight,
    c.dilationWidth,
    c.padInfo.top,
    c.padInfo.left,
    4 * c.filterWidth * C,
    4 * C,
  );
}

/**
 * dx = depthwiseConv2dNativeBackpropInput(dy, w):
 *  - stride 1: a depthwise correlation of dy with the filter rotated 180° (read through negative
 *    strides, no copy), padded by (K-1)·d - p, which gathers in registers;
 *  - stride > 1: a scatter of dy·w into a zeroed dx (the gather would need a parity test per tap).
 */
export const depthwiseConv2dNativeBackpropInput: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const heap = Heap.of(backend);
  const dy = inputs['dy']!;
  const filter = inputs['filter']!;
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const c = depthwiseInfo(a.inputShape, filter.shape, a);
  const M = filter.shape[3]!;
  const C = c.inChannels * M;
  const { batchSize: N, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW } = c;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = c;
  const dx = heap.alloc([N, H, W, C], sh !== 1 || sw !== 1);
  const w = heap.address(filter);
  if (sh === 1 && sw === 1) {
    const last = w + 4 * ((KH - 1) * KW + (KW - 1)) * C;
    heap.kernels.dw_forward(
      heap.address(dy),
      last,
      heap.address(dx),
      N,
      OH,
      OW,
      C,
      H,
      W,
      KH,
      KW,
      1,
      1,
      dh,
      dw,
      (KH - 1) * dh - c.padInfo.top,
      (KW - 1) * dw - c.padInfo.left,
      -4 * KW * C,
      -4 * C,
    );
  } else {
    heap.kernels.dw_scatter(
      heap.address(dy),
      w,
      heap.address(dx),
      N,
      H,
      W,
      C,
      OH,
      OW,
      KH,
      KW,
      sh,
      sw,
      dh,
      dw,
      c.padInfo.top,
      c.padInfo.left,
      4 * KW * C,
      4 * C,
    );
  }
  if (M === 1) return dx;
  // Sum each group of M channels: an innermost-axis reduction, which the stock Sum does in place.
  const summed = runStock(tf.Sum, backend, { x: Heap.view(dx, [N * H * W * c.inChannels, M]) }, { axis: [1], keepDims: false });
  heap.free(dx);
  return Heap.view(summed, [N, H, W, c.inChannels]);
};

/**
 * dw = depthwiseConv2dNativeBackpropFilter(x, dy): one pass over x and dy, each dy row against
 * the x rows its taps see, summed in registers (wat.ts dw_filter_grad). The prototype's
 * alternative — one depthwise convolution with channels (c, n) and dy as the filter — needs
 * two large transposes and a reduction over n.
 */
export const depthwiseConv2dNativeBackpropFilter: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const heap = Heap.of(backend);
  const x = inputs['x']!;
  const dy = inputs['dy']!;
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const c = depthwiseInfo(x.shape, a.filterShape, a);
  const M = a.filterShape[3];
  const C = c.inChannels * M;
  const xRep = M === 1 ? x : repeatChannels(heap, x, M);
  const dW = heap.alloc(a.filterShape, true);
  heap.kernels.dw_filter_grad(
    heap.address(xRep),
    heap.address(dy),
    heap.address(dW),
    c.batchSize,
    c.inHeight,
    c.inWidth,
    C,
    c.outHeight,
    c.outWidth,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    c.dilationHeight,
    c.dilationWidth,
    c.padInfo.top,
    c.padInfo.left,
  );
  if (xRep !== x) heap.free(xRep);
  return dW;
};

/** x [N, H, W, C] → [N, H, W, C·M] with channel c at c·M .. c·M + M-1. */
function repeatChannels(heap: Heap, x: tf.TensorInfo, M: number): tf.TensorInfo {
  const [N, H, W, C] = x.shape as [number, number, number, number];
  const rep = heap.alloc([N, H, W, C * M]);
  copyBox(
    heap,
    [N * H * W, C, M],
    { at: heap.address(x), strides: [C, 1, 0] },
    { at: heap.address(rep), strides: stridesOf([N * H * W, C, M]) },
  );
  return rep;
}
