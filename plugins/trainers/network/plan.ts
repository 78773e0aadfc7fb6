/**
 * A child network as a plain graph of layers with shapes: what the tfjs builder (and the
 * PyTorch benchmark twin) execute, and what parameter and multiply-add counts are read
 * from. One list of nodes, no framework: so counts need no tensors, and every backend
 * builds exactly the same network.
 */

export type Shape = [height: number, width: number, channels: number];
export type Padding = 'same' | 'valid';

export type NodeSpec =
  | { kind: 'input' }
  | { kind: 'relu'; input: number }
  | {
      kind: 'conv';
      input: number;
      filters: number;
      kernel: [number, number];
      stride: number;
      dilation: number;
      padding: Padding;
      bias: boolean;
    }
  | { kind: 'depthwise'; input: number; kernel: number; stride: number; dilation: number; padding: Padding }
  | { kind: 'batchnorm'; input: number }
  | { kind: 'pool'; input: number; type: 'avg' | 'max'; size: number; stride: number; padding: Padding }
  /** Every `stride`-th row and column, from the first: a strided conv that tfjs cannot dilate. */
  | { kind: 'subsample'; input: number; stride: number }
  /** Shifts the image up-left by one pixel (zero-padding the bottom/right): the second path of a factorized reduction. */
  | { kind: 'shift'; input: number }
  | { kind: 'add'; inputs: number[] }
  | { kind: 'concat'; inputs: number[] }
  /** Scheduled drop-path on the output of a cell operation; `cell` orders the schedule. */
  | { kind: 'droppath'; input: number; cell: number }
  | { kind: 'globalAvgPool'; input: number }
  | { kind: 'dense'; input: number; units: number };

export type PlanNode = NodeSpec & { id: number; shape: Shape; params: number; multAdds: number; scope: string };

export interface NetworkPlan {
  nodes: PlanNode[];
  input: number;
  /** The last cell's output (its channels are the paper's penultimate filters F). */
  features: number;
  /** Logits of the main head. */
  logits: number;
  /** Logits of the auxiliary head, when there is one. */
  auxLogits: number | null;
  /** Cells in the network (for the drop-path schedule). */
  cells: number;
}

function outSize(size: number, kernel: number, stride: number, dilation: number, padding: Padding): number {
  if (padding === 'same') return Math.ceil(size / stride);
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.floor((size - effective) / stride) + 1;
  if (out < 1) throw new RangeError(`a ${kernel}x${kernel} window (dilation ${dilation}) does not fit a ${size}-pixel input`);
  return out;
}

/** Appends nodes and works out their shapes, parameters and multiply-adds. */
export class PlanBuilder {
  readonly nodes: PlanNode[] = [];
  private scopeStack: string[] = [];

  shape(id: number): Shape {
    return this.nodes[id]!.shape;
  }

  within<T>(scope: string, body: () => T): T {
    this.scopeStack.push(scope);
    try {
      return body();
    } finally {
      this.scopeStack.pop();
    }
  }

  add(spec: NodeSpec, inputShape?: Shape): number {
    const id = this.nodes.length;
    const { shape, params, multAdds } = this.measure(spec, inputShape);
    this.nodes.push({ ...spec, id, shape, params, multAdds, scope: this.scopeStack.join('/') } as PlanNode);
    return id;
  }

  private measure(spec: NodeSpec, inputShape?: Shape): { shape: Shape; params: number; multAdds: number } {
    switch (spec.kind) {
      case 'input':
        return { shape: inputShape!, params: 0, multAdds: 0 };
      case 'relu':
      case 'droppath':
        return { shape: this.shape(spec.input), params: 0, multAdds: 0 };
      case 'batchnorm': {
        const shape = this.shape(spec.input);
        // gamma, beta and the two moving statistics, as Keras counts them
        return { shape, params: 4 * shape[2], multAdds: 0 };
      }
      case 'conv': {
        const [h, w, c] = this.shape(spec.input);
        const [kh, kw] = spec.kernel;
        const shape: Shape = [
          outSize(h, kh, spec.stride, spec.dilation, spec.padding),
          outSize(w, kw, spec.stride, spec.dilation, spec.padding),
          spec.filters,
        ];
        const weights = kh * kw * c * spec.filters;
        return { shape, params: weights + (spec.bias ? spec.filters : 0), multAdds: shape[0] * shape[1] * weights };
      }
      case 'depthwise': {
        const [h, w, c] = this.shape(spec.input);
        const k = spec.kernel;
        const shape: Shape = [
          outSize(h, k, spec.stride, spec.dilation, spec.padding),
          outSize(w, k, spec.stride, spec.dilation, spec.padding),
          c,
        ];
        return { shape, params: k * k * c, multAdds: shape[0] * shape[1] * k * k * c };
      }
      case 'pool': {
        const [h, w, c] = this.shape(spec.input);
        return {
          shape: [outSize(h, spec.size, spec.stride, 1, spec.padding), outSize(w, spec.size, spec.stride, 1, spec.padding), c],
          params: 0,
          multAdds: 0,
        };
      }
      case 'subsample': {
        const [h, w, c] = this.shape(spec.input);
        return { shape: [Math.ceil(h / spec.stride), Math.ceil(w / spec.stride), c], params: 0, multAdds: 0 };
      }
      case 'shift':
        return { shape: this.shape(spec.input), params: 0, multAdds: 0 };
      case 'add': {
        const shapes = spec.inputs.map((id) => this.shape(id));
        for (const s of shapes) {
          if (s.join() !== shapes[0]!.join())
            throw new RangeError(`cannot add tensors of shapes ${shapes.map((x) => `[${x}]`).join(' and ')}`);
        }
        return { shape: [...shapes[0]!], params: 0, multAdds: 0 };
      }
      case 'concat': {
        const shapes = spec.inputs.map((id) => this.shape(id));
        for (const s of shapes) {
          if (s[0] !== shapes[0]![0] || s[1] !== shapes[0]![1]) {
            throw new RangeError(`cannot concatenate tensors of shapes ${shapes.map((x) => `[${x}]`).join(' and ')}`);
          }
        }
        return { shape: [shapes[0]![0], shapes[0]![1], shapes.reduce((sum, s) => sum + s[2], 0)], params: 0, multAdds: 0 };
      }
      case 'globalAvgPool': {
        const [, , c] = this.shape(spec.input);
        return { shape: [1, 1, c], params: 0, multAdds: 0 };
      }
      case 'dense': {
        const [h, w, c] = this.shape(spec.input);
        const inputs = h * w * c;
        return { shape: [1, 1, spec.units], params: inputs * spec.units + spec.units, multAdds: inputs * spec.units };
      }
    }
  }
}

export interface PlanTotals {
  params: number;
  /** Parameters a gradient step changes (without batch norm's moving statistics). */
  trainableParams: number;
  multAdds: number;
}

/** The nodes `logits` depends on (and the auxiliary head's, when asked): what a forward pass computes. */
export function reachableNodes(plan: NetworkPlan, { auxHead = false } = {}): Set<number> {
  const needed = new Set<number>();
  const visit = (id: number) => {
    if (needed.has(id)) return;
    needed.add(id);
    const node = plan.nodes[id]!;
    if ('input' in node) visit(node.input);
    if ('inputs' in node) node.inputs.forEach(visit);
  };
  visit(plan.logits);
  if (auxHead && plan.auxLogits !== null) visit(plan.auxLogits);
  return needed;
}

/** Totals over the nodes that `logits` depends on (and the auxiliary head when asked). */
export function planTotals(plan: NetworkPlan, { auxHead = false } = {}): PlanTotals {
  let params = 0;
  let trainableParams = 0;
  let multAdds = 0;
  for (const id of reachableNodes(plan, { auxHead })) {
    const node = plan.nodes[id]!;
    params += node.params;
    trainableParams += node.kind === 'batchnorm' ? node.params / 2 : node.params;
    multAdds += node.multAdds;
  }
  return { params, trainableParams, multAdds };
}
