import * as tf from '@tensorflow/tfjs';

/**
 * Gradient functions registered over tfjs's own (for every backend: gradients are registered
 * per kernel name only).
 *
 * Gradients of DILATED Conv2D and DepthwiseConv2dNative. tfjs's own gradient functions refuse
 * dilation > 1 on every backend ("dilation rates greater than 1 are not yet supported"), before
 * any kernel runs, so kernel registration alone cannot make a dilated convolution train. These
 * wrappers hand dilation 1 to tfjs's gradient unchanged and compute dilation > 1 themselves:
 *  - on the wasm backend with our kernels registered: our backprop kernels, given `dilations`
 *    (a supported attribute of the depthwise ones, an extra one for Conv2D's);
 *  - elsewhere: the undilated backprop kernels applied to the dilated filter written out with
 *    zeros, (K-1)·d+1 taps wide — the same convolution, so the same gradients, at more cost.
 *
 * Fused ops (tf.fused.conv2d / depthwiseConv2d, which tf.layers uses for conv2d with a linear
 * or no activation) compute their gradient in a closure that also refuses dilation; they are
 * out of reach here.
 */

type Pair = [number, number] | number;
const pair = (p: Pair | null | undefined): [number, number] => (p == null ? [1, 1] : typeof p === 'number' ? [p, p] : p);

let ourKernelsOnWasm: () => boolean = () => false;

/**
 * Registers the gradients below; idempotent. Every backend needs them (tf-runtime calls this
 * for each); the wasm training kernels pass how to tell that they are active.
 */
export function registerTrainingGradients(wasmKernelsActive?: () => boolean): void {
  if (wasmKernelsActive) ourKernelsOnWasm = wasmKernelsActive;
  if (gradientsRegistered) return;
  const conv = tf.getGradient(tf.Conv2D);
  const depthwise = tf.getGradient(tf.DepthwiseConv2dNative);
  if (conv === undefined || depthwise === undefined)
    throw new Error('training gradients: tfjs gradients for Conv2D / DepthwiseConv2dNative are not registered');
  tf.registerGradient({ kernelName: tf.Conv2D, inputsToSave: ['x', 'filter'], gradFunc: conv2DGrad(conv) });
  tf.registerGradient({
    kernelName: tf.DepthwiseConv2dNative,
    inputsToSave: ['x', 'filter'],
    gradFunc: depthwiseGrad(depthwise),
  });
  tf.registerGradient({ kernelName: tf.Sum, inputsToSave: ['x'], gradFunc: sumGrad });
  tf.registerGradient({ kernelName: tf.Mean, inputsToSave: ['x'], gradFunc: meanGrad });
  gradientsRegistered = true;
}
let gradientsRegistered = false;

/**
 * Gradients of Sum and Mean: dy broadcast back over the reduced axes (divided by their size for
 * Mean). tfjs's own multiply dy by ones(x.shape), and ones() is filled in JavaScript and copied
 * into the backend — ~5 ms for one 64×28×28×32 activation here, three times per step of the
 * small NASNet child (batch-norm moments, global pooling). broadcastTo runs the backend's Tile
 * kernel instead. Same values: dy·1 = dy, (dy·1)/n = dy/n.
 */
function expandedDy(dy: tf.Tensor, x: tf.Tensor, axis: number | number[]): tf.Tensor {
  const shape = x.shape.slice();
  for (const a of tf.util.parseAxisParam(axis, x.shape)) shape[a] = 1;
  return tf.reshape(dy, shape);
}

const sumGrad: tf.GradFunc = (dy, saved, attrs) => {
  const [x] = saved as [tf.Tensor];
  const { axis } = attrs as unknown as tf.SumAttrs;
  return { x: () => tf.broadcastTo(tf.cast(expandedDy(dy as tf.Tensor, x, axis), 'float32'), x.shape) };
};

const meanGrad: tf.GradFunc = (dy, saved, attrs) => {
  const [x] = saved as [tf.Tensor];
  const { axis } = attrs as unknown as tf.MeanAttrs;
  const reduceSize = tf.util.sizeFromShape(tf.util.parseAxisParam(axis, x.shape).map((a) => x.shape[a]!));
  return { x: () => tf.broadcastTo(tf.div(expandedDy(dy as tf.Tensor, x, axis), reduceSize), x.shape) };
};

const conv2DGrad =
  (stock: tf.GradConfig): tf.GradFunc =>
  (dy, saved, attrs) => {
    const a = attrs as unknown as tf.Conv2DAttrs;
    const [dh, dw] = pair(a.dilations);
    if (dh === 1 && dw === 1) return stock.gradFunc(dy, saved, attrs);
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const g = dy as tf.Tensor4D;
    if (a.dataFormat === 'NCHW') throw new Error('wasm-kernels: dilated Conv2D gradient supports NHWC only');
    const common = { strides: a.strides, pad: a.pad, dataFormat: a.dataFormat, dimRoundingMode: a.dimRoundingMode };
    if (ourKernelsOnWasm()) {
      const dilations: [number, number] = [dh, dw];
      return {
        x: () =>
          tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: g, filter }, {
            ...common,
            inputShape: x.shape,
            dilations,
          } as unknown as tf.NamedAttrMap),
        filter: () =>
          tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: g }, {
            ...common,
            filterShape: filter.shape,
            dilations,
          } as unknown as tf.NamedAttrMap),
      };
    }
    return {
      x: () =>
        tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: g, filter: dilateFilter(filter, dh, dw) }, {
          ...common,
          inputShape: x.shape,
        } as unknown as tf.NamedAttrMap),
      filter: () => {
        const wide = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: g }, {
          ...common,
          filterShape: dilatedShape(filter.shape, dh, dw),
        } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
        return tf.stridedSlice(wide, [0, 0, 0, 0], wide.shape, [dh, dw, 1, 1]);
      },
    };
  };

const depthwiseGrad =
  (stock: tf.GradConfig): tf.GradFunc =>
  (dy, saved, attrs) => {
    const a = attrs as unknown as tf.DepthwiseConv2dNativeAttrs;
    const [dh, dw] = pair(a.dilations);
    if (dh === 1 && dw === 1) return stock.gradFunc(dy, saved, attrs);
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const g = dy as tf.Tensor4D;
    const common = { strides: a.strides, pad: a.pad, dimRoundingMode: a.dimRoundingMode };
    if (ourKernelsOnWasm()) {
      const dilations: [number, number] = [dh, dw];
      return {
        x: () =>
          tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, { dy: g, filter }, {
            ...common,
            dilations,
            inputShape: x.shape,
          } as unknown as tf.NamedAttrMap),
        filter: () =>
          tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy: g }, {
            ...common,
            dilations,
            filterShape: filter.shape,
          } as unknown as tf.NamedAttrMap),
      };
    }
    const undilated = { ...common, dilations: [1, 1] };
    return {
      x: () =>
        tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, { dy: g, filter: dilateFilter(filter, dh, dw) }, {
          ...undilated,
          inputShape: x.shape,
        } as unknown as tf.NamedAttrMap),
      filter: () => {
        const wide = tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy: g }, {
          ...undilated,
          filterShape: dilatedShape(filter.shape, dh, dw),
        } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
        return tf.stridedSlice(wide, [0, 0, 0, 0], wide.shape, [dh, dw, 1, 1]);
      },
    };
  };

function dilatedShape([KH, KW, A, B]: number[], dh: number, dw: number): [number, number, number, number] {
  return [(KH! - 1) * dh + 1, (KW! - 1) * dw + 1, A!, B!];
}

/**
 * w [KH, KW, A, B] → [(KH-1)·dh+1, (KW-1)·dw+1, A, B] with zeros between the taps. Rows and
 * columns are spread by two rank-4 pads: the webgpu backend pads up to rank 4 only.
 */
export function dilateFilter(w: tf.Tensor4D, dh: number, dw: number): tf.Tensor4D {
  return tf.tidy((): tf.Tensor4D => {
    const [KH, KW, A, B] = w.shape;
    const rows = tf.pad(tf.reshape(w, [KH, 1, KW, A * B]), [
      [0, 0],
      [0, dh - 1],
      [0, 0],
      [0, 0],
    ]);
    const columns = tf.pad(tf.reshape(rows, [KH * dh, KW, 1, A * B]), [
      [0, 0],
      [0, 0],
      [0, dw - 1],
      [0, 0],
    ]);
    const wide: tf.Tensor4D = tf.reshape(columns, [KH * dh, KW * dw, A, B]);
    return tf.slice(wide, [0, 0, 0, 0], dilatedShape(w.shape, dh, dw));
  });
}
