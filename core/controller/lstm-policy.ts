import { DECISIONS, type DecisionKind } from '../search-space/actions.ts';
import { MatrixKernels } from './kernels/matrix-kernels.ts';
import { drawCategorical, type Uniform } from './prng.ts';

/**
 * The controller network (paper §3): a one-layer LSTM that makes the 50 decisions in order.
 * Each step reads the embedding of the previous choice (a start token first), and one
 * softmax head per decision turns the hidden state into that decision's distribution.
 *
 * Plain TypeScript math over float32 parameters (computed in float64): bit-for-bit
 * reproducible on a machine, which is what makes the audit possible. A batch of
 * architectures runs in lock-step so each weight row is loaded once per step for the whole
 * batch; every sequence's arithmetic is the same whatever the batch, so an architecture
 * drawn alone equals the same architecture drawn in a batch.
 */

const MAX_CHOICES = Math.max(...DECISIONS.map((d) => d.choices));
const STEPS = DECISIONS.length;

/** Embedding rows: the start token, then one per choice of each decision kind. */
const TOKEN_OFFSET: Record<DecisionKind, number> = { input: 1, op: 1 + 7, combine: 1 + 7 + 13 };
const TOKEN_COUNT = 1 + 7 + 13 + 2;
const tokenOf = (t: number, action: number) => TOKEN_OFFSET[DECISIONS[t]!.kind] + action;

export interface PolicyShape {
  hiddenSize: number;
  embeddingSize: number;
}

/** Where each tensor sits in the flat parameter vector; the order is fixed (the digest depends on it). */
export interface ParameterLayout {
  size: number;
  embedding: number;
  inputWeights: number;
  hiddenWeights: number;
  gateBias: number;
  heads: Array<{ weights: number; bias: number; choices: number }>;
}

export function parameterLayout({ hiddenSize: H, embeddingSize: E }: PolicyShape): ParameterLayout {
  let offset = 0;
  const take = (n: number) => {
    const at = offset;
    offset += n;
    return at;
  };
  const embedding = take(TOKEN_COUNT * E);
  const inputWeights = take(4 * H * E);
  const hiddenWeights = take(4 * H * H);
  const gateBias = take(4 * H);
  const heads = DECISIONS.map((d) => ({ weights: take(d.choices * H), bias: take(d.choices), choices: d.choices }));
  return { size: offset, embedding, inputWeights, hiddenWeights, gateBias, heads };
}

/** What a forward pass over a batch leaves for the backward pass. Index order: step, sequence, unit. */
export interface BatchTrace {
  batch: number;
  /** actions[b][t] */
  actions: number[][];
  logProbs: Float64Array;
  entropies: Float64Array;
  /** h_t for t = 0 … 50 (h_0 = 0): [(t·B + b)·H + k]. */
  hidden: Float64Array;
  cell: Float64Array;
  /** i, f, g, o per step: [(t·B + b)·4H + …]. */
  gates: Float64Array;
  probs: Float64Array;
  stepEntropy: Float64Array;
}

export class LstmPolicy {
  readonly layout: ParameterLayout;
  private readonly H: number;
  private readonly E: number;
  /** float64 copy of the parameters the math reads; refreshed by invalidate(). */
  private weights: Float64Array | null = null;
  /** W_x · embedding + bias for every token. */
  private tokenInputs: Float64Array | null = null;
  /** The hidden-to-hidden products, with W_h resident in WebAssembly memory. */
  private readonly kernels = new MatrixKernels();

  constructor(
    readonly shape: PolicyShape,
    readonly params: Float32Array,
  ) {
    this.layout = parameterLayout(shape);
    if (params.length !== this.layout.size) {
      throw new RangeError(`controller parameters: expected ${this.layout.size} values, got ${params.length}`);
    }
    this.H = shape.hiddenSize;
    this.E = shape.embeddingSize;
  }

  /** Weights uniform in [-initRange, initRange] (the paper: 0.1), drawn in layout order. */
  static initialise(shape: PolicyShape, initRange: number, uniform: Uniform): LstmPolicy {
    const params = new Float32Array(parameterLayout(shape).size);
    for (let i = 0; i < params.length; i++) params[i] = (uniform() * 2 - 1) * initRange;
    return new LstmPolicy(shape, params);
  }

  /** Call after changing `params`. */
  invalidate(): void {
    this.weights = null;
    this.tokenInputs = null;
  }

  /** Draws one architecture per generator, one uniform number per decision. */
  sample(uniforms: readonly Uniform[]): BatchTrace {
    return this.forward(uniforms.length, null, uniforms);
  }

  /** Replays given action sequences (teacher forcing) for their log-probabilities and traces. */
  evaluate(actions: ReadonlyArray<readonly number[]>): BatchTrace {
    return this.forward(actions.length, actions, null);
  }

  private prepared(): { w: Float64Array; inputs: Float64Array } {
    if (this.weights && this.tokenInputs) return { w: this.weights, inputs: this.tokenInputs };
    const { H, E, layout } = this;
    const w = Float64Array.from(this.params);
    const inputs = new Float64Array(TOKEN_COUNT * 4 * H);
    for (let token = 0; token < TOKEN_COUNT; token++) {
      const emb = layout.embedding + token * E;
      for (let r = 0; r < 4 * H; r++)
        inputs[token * 4 * H + r] = w[layout.gateBias + r]! + dot(w, layout.inputWeights + r * E, w, emb, E);
    }
    this.kernels.setMatrix(w, layout.hiddenWeights, 4 * H, H);
    this.weights = w;
    this.tokenInputs = inputs;
    return { w, inputs };
  }

  private forward(B: number, given: ReadonlyArray<readonly number[]> | null, uniforms: readonly Uniform[] | null): BatchTrace {
    const { H, layout } = this;
    const G = 4 * H;
    const { w, inputs } = this.prepared();
    const hidden = new Float64Array((STEPS + 1) * B * H);
    const cell = new Float64Array((STEPS + 1) * B * H);
    const gates = new Float64Array(STEPS * B * G);
    const probs = new Float64Array(STEPS * B * MAX_CHOICES);
    const stepEntropy = new Float64Array(STEPS * B);
    const logProbs = new Float64Array(B);
    const entropies = new Float64Array(B);
    const actions: number[][] = Array.from({ length: B }, () => []);
    const tokens = new Int32Array(B);
    const z = new Float64Array(B * G);
    const logits = new Float64Array(MAX_CHOICES);
    for (let t = 0; t < STEPS; t++) {
      for (let b = 0; b < B; b++) z.set(inputs.subarray(tokens[b]! * G, tokens[b]! * G + G), b * G);
      this.kernels.multiplyAdd(hidden, t * B * H, B, z);
      const head = layout.heads[t]!;
      const n = head.choices;
      for (let b = 0; b < B; b++) {
        const zb = b * G;
        const gb = (t * B + b) * G;
        const prev = (t * B + b) * H;
        const now = ((t + 1) * B + b) * H;
        for (let k = 0; k < H; k++) {
          const i = sigmoid(z[zb + k]!);
          const f = sigmoid(z[zb + H + k]!);
          const g = Math.tanh(z[zb + 2 * H + k]!);
          const o = sigmoid(z[zb + 3 * H + k]!);
          gates[gb + k] = i;
          gates[gb + H + k] = f;
          gates[gb + 2 * H + k] = g;
          gates[gb + 3 * H + k] = o;
          const c = f * cell[prev + k]! + i * g;
          cell[now + k] = c;
          hidden[now + k] = o * Math.tanh(c);
        }
        let max = -Infinity;
        for (let j = 0; j < n; j++) {
          const value = w[head.bias + j]! + dot(w, head.weights + j * H, hidden, now, H);
          logits[j] = value;
          if (value > max) max = value;
        }
        let total = 0;
        for (let j = 0; j < n; j++) total += Math.exp(logits[j]! - max);
        const logTotal = Math.log(total) + max;
        const p0 = (t * B + b) * MAX_CHOICES;
        let entropy = 0;
        for (let j = 0; j < n; j++) {
          const logP = logits[j]! - logTotal;
          const p = Math.exp(logP);
          probs[p0 + j] = p;
          entropy -= p * logP;
        }
        const action = given ? given[b]![t]! : drawCategorical(probs.subarray(p0, p0 + n), n, uniforms![b]!());
        if (!Number.isInteger(action) || action < 0 || action >= n) {
          throw new RangeError(`action ${t} must be an integer in 0..${n - 1}, got ${action}`);
        }
        actions[b]!.push(action);
        logProbs[b] = logProbs[b]! + (logits[action]! - logTotal);
        stepEntropy[t * B + b] = entropy;
        entropies[b] = entropies[b]! + entropy;
        tokens[b] = tokenOf(t, action);
      }
    }
    return { batch: B, actions, logProbs, entropies, hidden, cell, gates, probs, stepEntropy };
  }

  /**
   * Adds to `grad` the gradient of a loss whose derivative is `logProbWeights[b]` with respect
   * to sequence b's log-probability plus `entropyWeight` with respect to each sequence's
   * entropy: back-propagation through time over the 50 steps, the whole batch at once.
   */
  backward(trace: BatchTrace, logProbWeights: ArrayLike<number>, entropyWeight: number, grad: Float64Array): void {
    const { H, E, layout } = this;
    const G = 4 * H;
    const { w } = this.prepared();
    const { batch: B, hidden, cell, gates, probs, stepEntropy, actions } = trace;
    const dh = new Float64Array(B * H);
    const dhNext = new Float64Array(B * H);
    const dcNext = new Float64Array(B * H);
    const dz = new Float64Array(STEPS * B * G);
    const dTokens = new Float64Array(TOKEN_COUNT * G);
    for (let t = STEPS - 1; t >= 0; t--) {
      const head = layout.heads[t]!;
      const n = head.choices;
      dh.set(dhNext);
      for (let b = 0; b < B; b++) {
        const now = ((t + 1) * B + b) * H;
        const p0 = (t * B + b) * MAX_CHOICES;
        const action = actions[b]![t]!;
        const weight = logProbWeights[b]!;
        for (let j = 0; j < n; j++) {
          const p = probs[p0 + j]!;
          // d(log p_a)/dz_j = [j = a] - p_j;  dH/dz_j = -p_j (log p_j + H)
          const dLogit =
            weight * ((j === action ? 1 : 0) - p) - entropyWeight * (p > 0 ? p * (Math.log(p) + stepEntropy[t * B + b]!) : 0);
          if (dLogit === 0) continue;
          grad[head.bias + j] = grad[head.bias + j]! + dLogit;
          axpy(dLogit, hidden, now, grad, head.weights + j * H, H);
          axpy(dLogit, w, head.weights + j * H, dh, b * H, H);
        }
      }
      const dzStep = t * B * G;
      for (let b = 0; b < B; b++) {
        const gb = (t * B + b) * G;
        const prev = (t * B + b) * H;
        const now = ((t + 1) * B + b) * H;
        const zb = dzStep + b * G;
        for (let k = 0; k < H; k++) {
          const i = gates[gb + k]!;
          const f = gates[gb + H + k]!;
          const g = gates[gb + 2 * H + k]!;
          const o = gates[gb + 3 * H + k]!;
          const tanhC = Math.tanh(cell[now + k]!);
          const dhk = dh[b * H + k]!;
          const dc = dhk * o * (1 - tanhC * tanhC) + dcNext[b * H + k]!;
          dz[zb + k] = dc * g * i * (1 - i);
          dz[zb + H + k] = dc * cell[prev + k]! * f * (1 - f);
          dz[zb + 2 * H + k] = dc * i * (1 - g * g);
          dz[zb + 3 * H + k] = dhk * tanhC * o * (1 - o);
          dcNext[b * H + k] = dc * f;
        }
        const token = t === 0 ? 0 : tokenOf(t - 1, actions[b]![t - 1]!);
        axpy(1, dz, zb, dTokens, token * G, G);
      }
      dhNext.fill(0);
      this.kernels.multiplyTransposedAdd(dz, dzStep, B, dhNext);
    }
    // dW_h = Σ over steps and sequences of dz ⊗ h_prev: one product over the whole batch.
    this.kernels.outerProductsAdd(dz, G, hidden, H, STEPS * B, grad, layout.hiddenWeights);
    // The input projection was computed per token: its gradient is gathered per token too.
    for (let token = 0; token < TOKEN_COUNT; token++) {
      const emb = layout.embedding + token * E;
      for (let r = 0; r < G; r++) {
        const d = dTokens[token * G + r]!;
        if (d === 0) continue;
        grad[layout.gateBias + r] = grad[layout.gateBias + r]! + d;
        axpy(d, w, emb, grad, layout.inputWeights + r * E, E);
        axpy(d, w, layout.inputWeights + r * E, grad, emb, E);
      }
    }
  }
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Σ a[i]·b[j] over n entries, four accumulators (a fixed order, so deterministic). */
function dot(a: Float64Array, ai: number, b: Float64Array, bi: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < n; k += 4) {
    s0 += a[ai + k]! * b[bi + k]!;
    s1 += a[ai + k + 1]! * b[bi + k + 1]!;
    s2 += a[ai + k + 2]! * b[bi + k + 2]!;
    s3 += a[ai + k + 3]! * b[bi + k + 3]!;
  }
  for (; k < n; k++) s0 += a[ai + k]! * b[bi + k]!;
  return s0 + s1 + (s2 + s3);
}

/** y[yi…] += alpha · x[xi…], n entries. */
function axpy(alpha: number, x: Float64Array, xi: number, y: Float64Array, yi: number, n: number): void {
  for (let k = 0; k < n; k++) y[yi + k] = y[yi + k]! + alpha * x[xi + k]!;
}
