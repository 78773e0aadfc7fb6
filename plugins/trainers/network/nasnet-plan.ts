import { cellConcat, cellOutputWidth, type CellName, type Genotype, type Op } from '../../../core/search-space/genotype.ts';

export { cellOutputWidth };
import { PlanBuilder, type NetworkPlan, type Shape } from './plan.ts';

/**
 * The NASNet child network for any genotype (README, "Training child networks"; the reference implementation's
 * conventions): stem → [N normal cells → reduction cell] × 2 → N normal cells → ReLU →
 * global average pool → dense. Filters double at each reduction cell. One function per
 * operation (applyOp), one place that wires a cell (addCell).
 */
export interface NetworkOptions {
  genotype: Genotype;
  /** Normal cells per stack. */
  N: number;
  /** Filters of the first stack's cells (the paper's F is the penultimate width, see filtersForPenultimate). */
  filters: number;
  imageShape: Shape;
  classes: number;
  /** `small`: 3×3 conv, stride 1 (28×28 grey, 32×32 colour); `imagenet`: 3×3 conv stride 2 + two reduction cells. */
  stem: 'small' | 'imagenet';
  stemFilters: number;
  /** The reference ImageNet-large model feeds the cell after a reduction cell with the reduction cell's h_{i-1}. */
  skipReductionInput?: boolean;
  auxHead?: boolean;
  /** Adds drop-path nodes after cell operations (ScheduledDropPath, for final training). */
  dropPath?: boolean;
}

/**
 * The paper names networks "N @ F" with F the filters of the penultimate layer: the last
 * normal cell outputs `width` × (4 × first-stack filters) channels, `width` being how many
 * f-wide states its output concatenates (6 for NASNet-A). So f = F / (4 × width).
 */
export function filtersForPenultimate(genotype: Genotype, penultimate: number): number {
  const width = cellOutputWidth(genotype, 'normal');
  const filters = penultimate / (4 * width);
  if (!Number.isInteger(filters) || filters < 1) {
    throw new RangeError(
      `F = ${penultimate} penultimate filters is not 4 × ${width} (this normal cell's output width) × a whole number of filters; try ${4 * width * Math.max(1, Math.round(filters))}`,
    );
  }
  return filters;
}

interface CellInputs {
  /** h_i: the previous cell's output. */
  current: number;
  /** h_{i-1}: the cell before that (null for the first cell: it then reads h_i twice). */
  previous: number | null;
}

export function buildNasnetPlan(options: NetworkOptions): NetworkPlan {
  const { genotype, N, filters: f0, imageShape, classes } = options;
  for (const [name, value] of [
    ['N', N],
    ['filters', f0],
    ['classes', classes],
    ['stemFilters', options.stemFilters],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number >= 1 (got ${value})`);
  }
  const b = new PlanBuilder();
  const input = b.add({ kind: 'input' }, imageShape);
  let cellIndex = 0;
  let inputs: CellInputs;
  const cell = (kind: CellName, filters: number, from: CellInputs): number =>
    b.within(`cell${cellIndex}_${kind}`, () =>
      addCell(b, genotype, kind, filters, from, options.dropPath ? cellIndex++ : (cellIndex++, null)),
    );

  if (options.stem === 'imagenet') {
    const stem = b.within('stem', () => convBn(b, input, options.stemFilters, [3, 3], 2, 1, 'valid', false));
    const first = cell('reduction', Math.max(1, Math.floor(f0 / 4)), { current: stem, previous: null });
    const second = cell('reduction', Math.max(1, Math.floor(f0 / 2)), { current: first, previous: stem });
    inputs = { current: second, previous: first };
  } else {
    const stem = b.within('stem', () => convBn(b, input, options.stemFilters, [3, 3], 1, 1, 'same', false));
    inputs = { current: stem, previous: null };
  }

  let auxLogits: number | null = null;
  for (let stack = 0; stack < 3; stack++) {
    const filters = f0 * 2 ** stack;
    for (let i = 0; i < N; i++) {
      const out = cell('normal', filters, inputs);
      inputs = { current: out, previous: inputs.current };
    }
    if (stack < 2) {
      const out = cell('reduction', filters * 2, inputs);
      inputs = { current: out, previous: options.skipReductionInput ? inputs.previous : inputs.current };
      if (stack === 1 && options.auxHead) auxLogits = b.within('aux', () => auxiliaryHead(b, out, classes));
    }
  }
  const logits = b.within('head', () => {
    const relu = b.add({ kind: 'relu', input: inputs.current });
    const pooled = b.add({ kind: 'globalAvgPool', input: relu });
    return b.add({ kind: 'dense', input: pooled, units: classes });
  });
  return { nodes: b.nodes, input, features: inputs.current, logits, auxLogits, cells: cellIndex };
}

/** The one place that wires a cell: inputs adjusted to `filters`, its blocks, the output concat. */
function addCell(
  b: PlanBuilder,
  genotype: Genotype,
  kind: CellName,
  filters: number,
  from: CellInputs,
  dropPathCell: number | null,
): number {
  const reduction = kind === 'reduction';
  const current = b.within('h', () => reluConvBn(b, from.current, filters, [1, 1], 1));
  const previous = b.within('p', () => adjust(b, from.previous ?? from.current, current, filters));
  const states = [current, previous];
  genotype[kind].forEach(([opA, inputA, opB, inputB, combine], k) => {
    const outputs = (
      [
        [opA, inputA],
        [opB, inputB],
      ] as const
    ).map(([op, state], side) =>
      b.within(`b${k}${side ? 'b' : 'a'}_${op}`, () => {
        const stride = reduction && state < 2 ? 2 : 1;
        const out = applyOp(b, op, states[state]!, filters, stride);
        // ScheduledDropPath drops operation outputs, not the untouched identity path.
        return dropPathCell !== null && out !== states[state] ? b.add({ kind: 'droppath', input: out, cell: dropPathCell }) : out;
      }),
    );
    states.push(b.add({ kind: combine === 'add' ? 'add' : 'concat', inputs: outputs }));
  });
  const [height] = b.shape(states[states.length - 1]!);
  const concat = cellConcat(genotype, kind).map((state) =>
    // A reduction cell's own inputs are still at the larger size: reduce them to join the output.
    b.shape(states[state]!)[0] !== height
      ? b.within(`out${state}`, () => factorizedReduction(b, states[state]!, filters))
      : states[state]!,
  );
  return concat.length === 1 ? concat[0]! : b.add({ kind: 'concat', inputs: concat });
}

/** One function per operation; every op outputs `filters` channels. */
function applyOp(b: PlanBuilder, op: Op, input: number, filters: number, stride: number): number {
  const channels = b.shape(input)[2];
  switch (op) {
    case 'identity':
      return stride === 1 && channels === filters ? input : reluConvBn(b, input, filters, [1, 1], stride);
    case 'conv1x1':
      return reluConvBn(b, input, filters, [1, 1], stride);
    case 'conv3x3':
      return reluConvBn(b, input, filters, [3, 3], stride);
    case 'conv1x3_3x1':
    case 'conv1x7_7x1': {
      const k = op === 'conv1x3_3x1' ? 3 : 7;
      const relu = b.add({ kind: 'relu', input });
      const wide = b.add({
        kind: 'conv',
        input: relu,
        filters,
        kernel: [1, k],
        stride,
        dilation: 1,
        padding: 'same',
        bias: false,
      });
      const tall = b.add({
        kind: 'conv',
        input: wide,
        filters,
        kernel: [k, 1],
        stride: 1,
        dilation: 1,
        padding: 'same',
        bias: false,
      });
      return b.add({ kind: 'batchnorm', input: tall });
    }
    case 'dil_conv3x3': {
      // tfjs dilates only with stride 1: a strided dilated conv is the stride-1 one, subsampled.
      const relu = b.add({ kind: 'relu', input });
      let conv = b.add({
        kind: 'conv',
        input: relu,
        filters,
        kernel: [3, 3],
        stride: 1,
        dilation: 2,
        padding: 'same',
        bias: false,
      });
      if (stride > 1) conv = b.add({ kind: 'subsample', input: conv, stride });
      return b.add({ kind: 'batchnorm', input: conv });
    }
    case 'avg_pool3x3':
    case 'max_pool3x3':
    case 'max_pool5x5':
    case 'max_pool7x7': {
      const size = Number(op.at(-1));
      const pooled = b.add({ kind: 'pool', input, type: op.startsWith('avg') ? 'avg' : 'max', size, stride, padding: 'same' });
      if (channels === filters) return pooled;
      const conv = b.add({
        kind: 'conv',
        input: pooled,
        filters,
        kernel: [1, 1],
        stride: 1,
        dilation: 1,
        padding: 'same',
        bias: false,
      });
      return b.add({ kind: 'batchnorm', input: conv });
    }
    case 'sep_conv3x3':
    case 'sep_conv5x5':
    case 'sep_conv7x7': {
      const k = Number(op.at(-1));
      const first = reluSepConvBn(b, input, filters, k, stride);
      return reluSepConvBn(b, first, filters, k, 1);
    }
  }
}

function convBn(
  b: PlanBuilder,
  input: number,
  filters: number,
  kernel: [number, number],
  stride: number,
  dilation: number,
  padding: 'same' | 'valid',
  relu: boolean,
): number {
  const x = relu ? b.add({ kind: 'relu', input }) : input;
  const conv = b.add({ kind: 'conv', input: x, filters, kernel, stride, dilation, padding, bias: false });
  return b.add({ kind: 'batchnorm', input: conv });
}

function reluConvBn(b: PlanBuilder, input: number, filters: number, kernel: [number, number], stride: number): number {
  return convBn(b, input, filters, kernel, stride, 1, 'same', true);
}

function reluSepConvBn(b: PlanBuilder, input: number, filters: number, kernel: number, stride: number): number {
  const relu = b.add({ kind: 'relu', input });
  const depthwise = b.add({ kind: 'depthwise', input: relu, kernel, stride, dilation: 1, padding: 'same' });
  const pointwise = b.add({
    kind: 'conv',
    input: depthwise,
    filters,
    kernel: [1, 1],
    stride: 1,
    dilation: 1,
    padding: 'same',
    bias: false,
  });
  return b.add({ kind: 'batchnorm', input: pointwise });
}

/** Brings h_{i-1} to h_i's size and `filters` channels. */
function adjust(b: PlanBuilder, previous: number, current: number, filters: number): number {
  const [ph, , pc] = b.shape(previous);
  const [ch] = b.shape(current);
  if (ph !== ch) return factorizedReduction(b, previous, filters);
  if (pc !== filters) return reluConvBn(b, previous, filters, [1, 1], 1);
  return previous;
}

/** Halves the size without losing every other pixel: two stride-2 1×1 paths, one shifted by a pixel. */
function factorizedReduction(b: PlanBuilder, input: number, filters: number): number {
  const relu = b.add({ kind: 'relu', input });
  const half = Math.floor(filters / 2);
  const path = (source: number, out: number) => {
    const pooled = b.add({ kind: 'pool', input: source, type: 'avg', size: 1, stride: 2, padding: 'valid' });
    return b.add({
      kind: 'conv',
      input: pooled,
      filters: out,
      kernel: [1, 1],
      stride: 1,
      dilation: 1,
      padding: 'same',
      bias: false,
    });
  };
  // one filter cannot be split: a zero-filter path would be an empty tensor, which a GPU cannot bind
  if (half === 0) return b.add({ kind: 'batchnorm', input: path(relu, filters) });
  const first = path(relu, half);
  const second = path(b.add({ kind: 'shift', input: relu }), filters - half);
  return b.add({ kind: 'batchnorm', input: b.add({ kind: 'concat', inputs: [first, second] }) });
}

/** The reference auxiliary classifier (loss weight 0.4 in training). */
function auxiliaryHead(b: PlanBuilder, input: number, classes: number): number {
  const relu = b.add({ kind: 'relu', input });
  const [h] = b.shape(relu);
  const size = Math.min(5, h);
  const pooled = b.add({ kind: 'pool', input: relu, type: 'avg', size, stride: 3, padding: 'valid' });
  const reduced = convBn(b, pooled, 128, [1, 1], 1, 1, 'same', false);
  const [ph, pw] = b.shape(reduced);
  const wide = convBn(b, b.add({ kind: 'relu', input: reduced }), 768, [ph, pw], 1, 1, 'valid', false);
  const flat = b.add({ kind: 'globalAvgPool', input: b.add({ kind: 'relu', input: wide }) });
  return b.add({ kind: 'dense', input: flat, units: classes });
}
