import * as tf from '@tensorflow/tfjs';
import { copyBox, stridesOf } from './copy.ts';
import { Heap } from './heap.ts';
import { runStock } from './stock.ts';

/**
 * Conv2D (NHWC) forward and gradients. The stock Conv2DBackpropInput is a direct loop at
 * ~1.5 GFLOP/s and there is no stock Conv2DBackpropFilter; ours are XNNPACK's forward
 * convolution (~20 GFLOP/s on one thread here) on rearranged operands, and matrix products in
 * our own kernels (wat.ts ab, atb: ~20 GFLOP/s), with strided copies (copy.ts) for the
 * rearranging. 1×1 forward convolutions go through ab too; other forward ones to the stock
 * kernel, around two bugs (runStockConv).
 *
 * The gradients accept a `dilations` attribute, which tfjs's own attrs for these kernels lack:
 * the dilated-convolution gradient (gradients.ts) passes it when the active backend is wasm.
 */

type Conv2DGradAttrs = { dilations?: [number, number] | number };

function info(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: tf.Conv2DBackpropInputAttrs & Conv2DGradAttrs,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

const shape4 = (t: tf.TensorInfo): [number, number, number, number] => {
  if (t.shape.length !== 4) throw new Error(`wasm-kernels: expected a rank-4 tensor, got shape [${t.shape}]`);
  return t.shape as [number, number, number, number];
};

const explicit = (top: number, bottom: number, left: number, right: number): tf.NamedAttrMap[string] => [
  [0, 0],
  [top, bottom],
  [left, right],
  [0, 0],
];

/**
 * dx = conv2DBackpropInput(dy, w):
 *  - 1×1 unpadded (pointwise convs, factorized reductions): dy·wᵀ as one matrix product (wat.ts
 *    ab); with stride s the product lands on every s-th pixel of a zeroed dx.
 *  - otherwise: a stride-1 forward convolution of dy (zero-inserted between pixels when the
 *    stride is > 1) with the filter rotated 180° and its channel axes swapped, padded explicitly
 *    so that the output is exactly dx. The rotated filter is a strided copy with negative strides.
 */
export const conv2DBackpropInput: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const heap = Heap.of(backend);
  const dy = inputs['dy']!;
  const filter = inputs['filter']!;
  const a = attrs as unknown as tf.Conv2DBackpropInputAttrs & Conv2DGradAttrs;
  if (a.dataFormat === 'NCHW') return runStock(tf.Conv2DBackpropInput, backend, inputs, attrs);
  const c = info(a.inputShape as [number, number, number, number], shape4(filter), a);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = c;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = c;
  const { top: pt, left: pl } = c.padInfo;

  if (KH === 1 && KW === 1 && pt === 0 && pl === 0) {
    // wT[co, ci] = w[ci, co]
    const wT = heap.alloc([CO, CI]);
    copyBox(heap, [CI, CO], { at: heap.address(filter), strides: [CO, 1] }, { at: heap.address(wT), strides: [1, CI] });
    const product = heap.alloc([N, OH, OW, CI]);
    heap.kernels.ab(heap.address(dy), heap.address(wT), heap.address(product), N * OH * OW, CO, CI, 0, 0);
    heap.free(wT);
    if (sh === 1 && sw === 1 && OH === H && OW === W) return product;
    // Output pixel (oh, ow) came from input pixel (oh·sh, ow·sw); past the input (explicit
    // bottom/right padding) it came from the padding.
    const dx = heap.alloc([N, H, W, CI], true);
    copyBox(
      heap,
      [N, Math.min(OH, Math.floor((H - 1) / sh) + 1), Math.min(OW, Math.floor((W - 1) / sw) + 1), CI],
      { at: heap.address(product), strides: stridesOf([N, OH, OW, CI]) },
      { at: heap.address(dx), strides: [H * W * CI, sh * W * CI, sw * CI, 1] },
    );
    heap.free(product);
    return dx;
  }

  // Zero-insert dy between pixels: dyD[n, oh*sh, ow*sw, :] = dy[n, oh, ow, :].
  let dyD = dy;
  const HD = (OH - 1) * sh + 1;
  const WD = (OW - 1) * sw + 1;
  if (sh > 1 || sw > 1) {
    dyD = heap.alloc([N, HD, WD, CO], true);
    copyBox(
      heap,
      [N, OH, OW, CO],
      { at: heap.address(dy), strides: stridesOf([N, OH, OW, CO]) },
      { at: heap.address(dyD), strides: [HD * WD * CO, sh * WD * CO, sw * CO, 1] },
    );
  }
  // Padding of the stride-1 convolution that yields exactly dx. A negative one (explicit
  // padding wider than the filter reach) is a crop: convolve with 0 there and crop the result.
  const top = (KH - 1) * dh - pt;
  const left = (KW - 1) * dw - pl;
  const bottom = H + pt - HD;
  const right = W + pl - WD;
  // wF[kh, kw, co, ci] = w[KH-1-kh, KW-1-kw, ci, co]
  const wF = heap.alloc([KH, KW, CO, CI]);
  const [s0, s1] = stridesOf([KH, KW, CI, CO]) as [number, number];
  copyBox(
    heap,
    [KH, KW, CO, CI],
    { at: heap.address(filter) + 4 * ((KH - 1) * s0 + (KW - 1) * s1), strides: [-s0, -s1, 1, CO] },
    { at: heap.address(wF), strides: stridesOf([KH, KW, CO, CI]) },
  );
  const full = runStock(
    tf.Conv2D,
    backend,
    { x: dyD, filter: wF },
    {
      strides: [1, 1],
      pad: explicit(Math.max(0, top), Math.max(0, bottom), Math.max(0, left), Math.max(0, right)),
      dataFormat: 'NHWC',
      dilations: [dh, dw],
    },
  );
  heap.free(wF);
  if (dyD !== dy) heap.free(dyD);
  if (top >= 0 && left >= 0 && bottom >= 0 && right >= 0) return full;
  const [, FH, FW] = full.shape as [number, number, number, number];
  const dx = heap.alloc([N, H, W, CI]);
  copyBox(
    heap,
    [N, H, W, CI],
    { at: heap.address(full) + 4 * (Math.max(0, -top) * FW + Math.max(0, -left)) * CI, strides: [FH * FW * CI, FW * CI, CI, 1] },
    { at: heap.address(dx), strides: stridesOf([N, H, W, CI]) },
  );
  heap.free(full);
  return dx;
};

/**
 * dw = conv2DBackpropFilter(x, dy), per tap (kh, kw): dW[kh, kw] = xₛᵀ·dy [CI, CO] with wat.ts atb,
 * where xₛ [N·OH·OW, CI] is x shifted by the tap and sampled at the stride, zero where the tap
 * looks into the padding — x itself when the tap needs no shift (1×1 convolutions).
 *
 * Measured against two XNNPACK formulations (64×28×28, fresh tensors per call as in training):
 * im2col (the patch matrix [KH·KW·CI, pixels] times dy) and the prototype's trick (a forward
 * convolution of x transposed to [CI, H, W, N] with dy transposed to [OH, OW, N, CO] as filter).
 * Both make XNNPACK repack a full activation-sized operand on every call; per tap is 1.5-5×
 * faster (e.g. 1×1, 32→32: 5.5 ms against 24 and 42; 3×3, 32→32: 62 ms against 92 and 83).
 */
export const conv2DBackpropFilter: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const heap = Heap.of(backend);
  const x = inputs['x']!;
  const dy = inputs['dy']!;
  const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs & Conv2DGradAttrs;
  if (a.dataFormat === 'NCHW') throw new Error('wasm-kernels: Conv2DBackpropFilter supports NHWC only');
  const c = tf.backend_util.computeConv2DInfo(shape4(x), a.filterShape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = c;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = c;
  const { top: pt, left: pl } = c.padInfo;
  const P = N * OH * OW;
  const dW = heap.alloc([KH, KW, CI, CO], true);
  const dWAt = heap.address(dW);
  const xAt = heap.address(x);
  const dyAt = heap.address(dy);
  let shifted: tf.TensorInfo | undefined;
  let zero: tf.TensorInfo | undefined;
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const tapAt = dWAt + 4 * (kh * KW + kw) * CI * CO;
      const top = kh * dh - pt;
      const left = kw * dw - pl;
      if (sh === 1 && sw === 1 && top === 0 && left === 0 && OH === H && OW === W) {
        heap.kernels.atb(xAt, dyAt, tapAt, P, CI, CO);
        continue;
      }
      // Shifted copy of x, reused by every tap that needs one; the padding part is re-zeroed
      // per tap by copies from a single zero (stride 0), which costs only the border.
      shifted ??= heap.alloc([P, CI]);
      zero ??= heap.alloc([1], true);
      const sAt = heap.address(shifted);
      const zeros = { at: heap.address(zero), strides: [0, 0, 0, 0] };
      const dst = [OH * OW * CI, OW * CI, CI, 1];
      // Output pixels whose input pixel (oh*sh + top, ow*sw + left) is inside x.
      const ohLo = Math.min(OH, ceilDiv(Math.max(0, -top), sh));
      const ohHi = Math.max(ohLo, Math.min(OH, Math.floor((H - 1 - top) / sh) + 1));
      const owLo = Math.min(OW, ceilDiv(Math.max(0, -left), sw));
      const owHi = Math.max(owLo, Math.min(OW, Math.floor((W - 1 - left) / sw) + 1));
      const at = (oh: number, ow: number) => ({ at: sAt + 4 * (oh * OW + ow) * CI, strides: dst });
      if (ohHi > ohLo && owHi > owLo) {
        copyBox(
          heap,
          [N, ohHi - ohLo, owHi - owLo, CI],
          { at: xAt + 4 * ((ohLo * sh + top) * W + owLo * sw + left) * CI, strides: [H * W * CI, sh * W * CI, sw * CI, 1] },
          at(ohLo, owLo),
        );
      }
      copyBox(heap, [N, ohLo, OW, CI], zeros, at(0, 0));
      copyBox(heap, [N, OH - ohHi, OW, CI], zeros, at(ohHi, 0));
      copyBox(heap, [N, ohHi - ohLo, owLo, CI], zeros, at(ohLo, 0));
      copyBox(heap, [N, ohHi - ohLo, OW - owHi, CI], zeros, at(ohLo, owHi));
      heap.kernels.atb(sAt, dyAt, tapAt, P, CI, CO);
    }
  }
  heap.free(shifted, zero);
  return dW;
};

const ceilDiv = (a: number, b: number): number => Math.floor((a + b - 1) / b);

/** A 1×1, stride-1, unpadded NHWC convolution: a matrix product [pixels, CI]·[CI, CO]. */
function isPointwise(x: tf.TensorInfo, filter: tf.TensorInfo, a: tf.Conv2DAttrs): boolean {
  if (a.dataFormat === 'NCHW' || x.shape.length !== 4 || filter.shape[0] !== 1 || filter.shape[1] !== 1) return false;
  const strides = typeof a.strides === 'number' ? [a.strides, a.strides] : a.strides;
  if (strides[0] !== 1 || strides[1] !== 1) return false;
  const pad = a.pad;
  return pad === 'same' || pad === 'valid' || pad === 0 || (Array.isArray(pad) && pad.every((p) => p[0] === 0 && p[1] === 0));
}

/**
 * Runs a stock forward convolution kernel (Conv2D, FusedConv2D, FusedDepthwiseConv2D) with its
 * padding spelled out, because of two bugs on the way to XNNPACK in tfjs 4.22:
 *  - 'same' is handed to XNNPACK as its TensorFlow-SAME flag, which gives wrong results for
 *    filters one pixel wide with stride 2 — e.g. the 7×1 half of NASNet's 1×7-then-7×1
 *    convolution in a reduction cell (stock Conv2D, FusedConv2D, DepthwiseConv2dNative and
 *    FusedDepthwiseConv2D all return garbage there; see the tests);
 *  - a numeric padding with a non-square filter gets an output shape from tfjs-core computed
 *    with the filter HEIGHT for both axes, while XNNPACK computes its own, larger one and
 *    writes past the end of the output buffer.
 * We pad explicitly so that the output is at least tfjs's shape and crop to that shape (which
 * is what the cpu backend computes) when XNNPACK's comes out larger.
 */
function runStockConv(
  kernelName: string,
  backend: object,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap | undefined,
  depthwise: boolean,
): tf.TensorInfo {
  const a = (attrs ?? {}) as unknown as tf.Conv2DAttrs;
  const x = inputs['x']!;
  const filter = inputs['filter']!;
  if (attrs === undefined || a.dataFormat === 'NCHW' || (a.pad !== 'same' && typeof a.pad !== 'number'))
    return runStock(kernelName, backend, inputs, attrs);
  const c = tf.backend_util.computeConv2DInfo(
    shape4(x),
    shape4(filter),
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    depthwise,
  );
  const { top, left } = c.padInfo;
  const bottom = Math.max(0, (c.outHeight - 1) * c.strideHeight + c.effectiveFilterHeight - c.inHeight - top);
  const right = Math.max(0, (c.outWidth - 1) * c.strideWidth + c.effectiveFilterWidth - c.inWidth - left);
  const pad = explicit(top, bottom, left, right);
  const out = runStock(kernelName, backend, inputs, { ...attrs, pad, dimRoundingMode: undefined } as unknown as tf.NamedAttrMap);
  const [N, OHx, OWx, CO] = out.shape as [number, number, number, number];
  if (OHx === c.outHeight && OWx === c.outWidth) return out;
  const heap = Heap.of(backend);
  const cropped = heap.alloc(c.outShape);
  copyBox(
    heap,
    [N, c.outHeight, c.outWidth, CO],
    { at: heap.address(out), strides: stridesOf([N, OHx, OWx, CO]) },
    { at: heap.address(cropped), strides: stridesOf(c.outShape) },
  );
  heap.free(out);
  return cropped;
}

/**
 * Forward Conv2D: 1×1 convolutions (the pointwise half of every separable convolution) as one
 * matrix product in wat.ts ab, ~2.5× the speed of XNNPACK's 1×1 convolution in
 * tfjs-backend-wasm here (4.5 against 11 ms for 64×28×28×32 → 32); everything else goes to the
 * stock kernel, with its padding spelled out (runStockConv).
 */
export const conv2D: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs['x']!;
  const filter = inputs['filter']!;
  if (!isPointwise(x, filter, attrs as unknown as tf.Conv2DAttrs)) return runStockConv(tf.Conv2D, backend, inputs, attrs, false);
  return pointwise(Heap.of(backend), x, filter, undefined, false);
};

function pointwise(
  heap: Heap,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  bias: tf.TensorInfo | undefined,
  relu: boolean,
): tf.TensorInfo {
  const [N, H, W, CI] = x.shape as [number, number, number, number];
  const CO = filter.shape[3]!;
  const y = heap.alloc([N, H, W, CO]);
  heap.kernels.ab(
    heap.address(x),
    heap.address(filter),
    heap.address(y),
    N * H * W,
    CI,
    CO,
    bias === undefined ? 0 : heap.address(bias),
    relu ? 1 : 0,
  );
  return y;
}

/**
 * FusedConv2D (bias, activation) likewise: 1×1 with a per-channel bias and a linear or relu
 * activation in ab, other 1×1 activations as the stock fused matrix product, the rest stock.
 */
export const fusedConv2D: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs['x']!;
  const filter = inputs['filter']!;
  const bias = inputs['bias'] ?? undefined;
  const a = attrs as unknown as tf.FusedConv2DAttrs;
  const CO = filter.shape[3]!;
  const plainBias = bias === undefined || (bias.shape.length === 1 && bias.shape[0] === CO);
  if (!isPointwise(x, filter, a) || !plainBias || a.activation === 'prelu')
    return runStockConv(tf.FusedConv2D, backend, inputs, attrs, false);
  if (a.activation === 'linear' || a.activation === 'relu' || a.activation === undefined) {
    return pointwise(Heap.of(backend), x, filter, bias, a.activation === 'relu');
  }
  const [N, H, W, CI] = x.shape as [number, number, number, number];
  const matmulInputs: tf.NamedTensorInfoMap = { a: Heap.view(x, [1, N * H * W, CI]), b: Heap.view(filter, [1, CI, CO]) };
  if (bias !== undefined) matmulInputs['bias'] = bias;
  const y = runStock(tf._FusedMatMul, backend, matmulInputs, {
    transposeA: false,
    transposeB: false,
    activation: a.activation,
    leakyreluAlpha: a.leakyreluAlpha ?? 0,
  });
  return Heap.view(y, [N, H, W, CO]);
};

/** FusedDepthwiseConv2D: the stock kernel, with its padding spelled out (runStockConv). */
export const fusedDepthwiseConv2D: tf.KernelFunc = ({ inputs, backend, attrs }) =>
  runStockConv(tf.FusedDepthwiseConv2D, backend, inputs, attrs, true);
