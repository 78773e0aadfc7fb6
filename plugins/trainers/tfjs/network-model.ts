import type * as tfTypes from '@tensorflow/tfjs';
import { reachableNodes, type NetworkPlan, type PlanNode } from '../network/plan.ts';
import { sumTensors } from './sum-tensors.ts';
import type { Tf } from './tf-runtime.ts';

type Tensor = tfTypes.Tensor;
type Tensor4D = tfTypes.Tensor4D;
type Variable = tfTypes.Variable;

const BN_EPSILON = 1e-3;

/** Trainable weights and batch-norm statistics of one plan node. */
interface NodeWeights {
  kernel?: Variable;
  bias?: Variable;
  gamma?: Variable;
  beta?: Variable;
  movingMean?: Variable;
  movingVariance?: Variable;
}

export interface ForwardOptions {
  training: boolean;
  /** Drop probability for drop-path nodes of a cell (ScheduledDropPath); 0 disables. */
  dropProbability?: (cell: number) => number;
  /** Seed for drop-path masks in this step. */
  seed?: number;
  /** Compute the auxiliary head too. */
  aux?: boolean;
}

export interface ForwardResult {
  logits: Tensor;
  auxLogits: Tensor | null;
  /** Batch statistics per batch-norm node, for the moving averages (training only). */
  batchStats: Array<{ node: number; mean: Tensor; variance: Tensor }>;
}

/**
 * A NetworkPlan as tfjs variables and a forward function over plain tfjs ops, so the same
 * code runs on every backend (CPU, WASM, native, CUDA).
 */
export class NetworkModel {
  private readonly weights = new Map<number, NodeWeights>();
  private withAux: Set<number> | null = null;
  private withoutAux: Set<number> | null = null;

  constructor(
    private readonly tf: Tf,
    readonly plan: NetworkPlan,
    seed: number,
    /**
     * Decay of batch norm's moving statistics. The reference code's 0.9997 suits its 250k
     * steps; a search-time training of a few hundred steps needs the averages to catch up.
     */
    private readonly batchNormMomentum = 0.9,
  ) {
    for (const node of plan.nodes) this.initialise(node, seed);
  }

  private initialise(node: PlanNode, seed: number): void {
    const { tf } = this;
    const inputChannels = node.kind === 'input' ? 0 : 'input' in node ? this.plan.nodes[node.input]!.shape[2] : 0;
    const nodeSeed = seed * 100_003 + node.id;
    switch (node.kind) {
      case 'conv': {
        const [kh, kw] = node.kernel;
        // He normal, as the reference code (fan-in: kh · kw · input channels)
        const std = Math.sqrt(2 / (kh * kw * inputChannels));
        this.weights.set(node.id, {
          kernel: tf.variable(tf.randomNormal([kh, kw, inputChannels, node.filters], 0, std, 'float32', nodeSeed), true),
          ...(node.bias ? { bias: tf.variable(tf.zeros([node.filters]), true) } : {}),
        });
        break;
      }
      case 'depthwise': {
        const std = Math.sqrt(2 / (node.kernel * node.kernel));
        this.weights.set(node.id, {
          kernel: tf.variable(tf.randomNormal([node.kernel, node.kernel, inputChannels, 1], 0, std, 'float32', nodeSeed), true),
        });
        break;
      }
      case 'dense': {
        const [h, w, c] = this.plan.nodes[node.input]!.shape;
        const fanIn = h * w * c;
        const limit = Math.sqrt(6 / (fanIn + node.units));
        this.weights.set(node.id, {
          kernel: tf.variable(tf.randomUniform([fanIn, node.units], -limit, limit, 'float32', nodeSeed), true),
          bias: tf.variable(tf.zeros([node.units]), true),
        });
        break;
      }
      case 'batchnorm': {
        const c = node.shape[2];
        this.weights.set(node.id, {
          gamma: tf.variable(tf.ones([c]), true),
          beta: tf.variable(tf.zeros([c]), true),
          movingMean: tf.variable(tf.zeros([c]), false),
          movingVariance: tf.variable(tf.ones([c]), false),
        });
        break;
      }
      default:
        break;
    }
  }

  /** Variables a gradient step updates. */
  trainableVariables(): Variable[] {
    const out: Variable[] = [];
    for (const w of this.weights.values()) for (const v of [w.kernel, w.bias, w.gamma, w.beta]) if (v) out.push(v);
    return out;
  }

  /** Convolution and dense kernels: what L2 weight decay applies to (not biases or batch norm). */
  decayedVariables(): Variable[] {
    return [...this.weights.values()].flatMap((w) => (w.kernel ? [w.kernel] : []));
  }

  countParameters(): number {
    let total = 0;
    for (const w of this.weights.values()) for (const v of Object.values(w)) total += (v as Variable).size;
    return total;
  }

  forward(images: Tensor4D, options: ForwardOptions): ForwardResult {
    const { plan } = this;
    const values: Array<Tensor | undefined> = new Array(plan.nodes.length);
    const batchStats: ForwardResult['batchStats'] = [];
    // computed once per model: forward runs every step
    const wanted = options.aux
      ? (this.withAux ??= reachableNodes(plan, { auxHead: true }))
      : (this.withoutAux ??= reachableNodes(plan));
    for (const node of plan.nodes) {
      if (!wanted.has(node.id)) continue;
      values[node.id] = node.kind === 'input' ? images : this.apply(node, values, options, batchStats);
    }
    return {
      logits: values[plan.logits]!.reshape([images.shape[0], -1]),
      auxLogits: options.aux && plan.auxLogits !== null ? values[plan.auxLogits]!.reshape([images.shape[0], -1]) : null,
      batchStats,
    };
  }

  /** After a training step: moving averages of the batch statistics (outside the gradient). */
  updateBatchNormStatistics(batchStats: ForwardResult['batchStats']): void {
    const { tf } = this;
    tf.tidy(() => {
      for (const { node, mean, variance } of batchStats) {
        const w = this.weights.get(node)!;
        const m = this.batchNormMomentum;
        w.movingMean!.assign(w.movingMean!.mul(m).add(mean.mul(1 - m)));
        w.movingVariance!.assign(w.movingVariance!.mul(m).add(variance.mul(1 - m)));
      }
    });
  }

  /** Sets the inference statistics of batch-norm nodes outright (see recalibrateBatchNorm). */
  setBatchNormStatistics(statistics: ForwardResult['batchStats']): void {
    for (const { node, mean, variance } of statistics) {
      const w = this.weights.get(node)!;
      w.movingMean!.assign(mean);
      w.movingVariance!.assign(variance);
    }
  }

  dispose(): void {
    for (const w of this.weights.values()) for (const v of Object.values(w)) (v as Variable).dispose();
    this.weights.clear();
  }

  private apply(
    node: PlanNode,
    values: Array<Tensor | undefined>,
    options: ForwardOptions,
    batchStats: ForwardResult['batchStats'],
  ): Tensor {
    const { tf } = this;
    const input = (id: number) => values[id] as Tensor4D;
    switch (node.kind) {
      case 'input':
        throw new Error('the input node has no operation');
      case 'relu':
        return tf.relu(input(node.input));
      case 'conv': {
        const w = this.weights.get(node.id)!;
        const out = tf.conv2d(input(node.input), w.kernel as tfTypes.Tensor4D, node.stride, node.padding, 'NHWC', node.dilation);
        return w.bias ? out.add(w.bias) : out;
      }
      case 'depthwise': {
        const w = this.weights.get(node.id)!;
        return tf.depthwiseConv2d(
          input(node.input),
          w.kernel as tfTypes.Tensor4D,
          node.stride,
          node.padding,
          'NHWC',
          node.dilation,
        );
      }
      case 'batchnorm': {
        const w = this.weights.get(node.id)!;
        const x = input(node.input);
        if (options.training) {
          const { mean, variance } = tf.moments(x, [0, 1, 2]);
          batchStats.push({ node: node.id, mean, variance });
          return tf.batchNorm(x, mean, variance, w.beta!, w.gamma!, BN_EPSILON);
        }
        return tf.batchNorm(x, w.movingMean!, w.movingVariance!, w.beta!, w.gamma!, BN_EPSILON);
      }
      case 'pool': {
        const x = input(node.input);
        return node.type === 'avg'
          ? tf.avgPool(x, node.size, node.stride, node.padding)
          : tf.maxPool(x, node.size, node.stride, node.padding);
      }
      case 'subsample':
        // tfjs has no gradient for strided slices; a 1×1 average pool with a stride is the same subsampling
        return tf.avgPool(input(node.input), 1, node.stride, 'valid');
      case 'shift': {
        const x = input(node.input);
        const [n, h, w, c] = x.shape;
        return tf
          .pad(x, [
            [0, 0],
            [0, 1],
            [0, 1],
            [0, 0],
          ])
          .slice([0, 1, 1, 0], [n, h, w, c]);
      }
      case 'add':
        return sumTensors(tf, node.inputs.map(input));
      case 'concat':
        return tf.concat(node.inputs.map(input), 3);
      case 'droppath': {
        const x = input(node.input);
        const drop = options.training ? (options.dropProbability?.(node.cell) ?? 0) : 0;
        if (drop <= 0) return x;
        const keep = 1 - drop;
        const mask = tf.floor(
          tf.randomUniform([x.shape[0], 1, 1, 1], 0, 1, 'float32', (options.seed ?? 0) * 7919 + node.id).add(keep),
        );
        return x.mul(mask.div(keep));
      }
      case 'globalAvgPool':
        return tf.mean(input(node.input), [1, 2], true);
      case 'dense': {
        const w = this.weights.get(node.id)!;
        const x = input(node.input);
        return tf
          .matMul(x.reshape([x.shape[0], -1]), w.kernel as tfTypes.Tensor2D)
          .add(w.bias!)
          .reshape([x.shape[0], 1, 1, -1]);
      }
    }
  }
}
