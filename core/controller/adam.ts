/**
 * Adam over a flat float32 parameter vector. Moments are float32 too: the whole optimiser
 * state is part of the controller digest, and float32 everywhere keeps it small and exact.
 */
export class Adam {
  readonly m: Float32Array;
  readonly v: Float32Array;
  step = 0;

  constructor(
    size: number,
    private readonly learningRate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-8,
  ) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  /** One descent step on `params` along the loss gradient `grad`. */
  apply(params: Float32Array, grad: Float64Array): void {
    this.step++;
    const { m, v, beta1, beta2, epsilon } = this;
    const correction1 = 1 - beta1 ** this.step;
    const correction2 = 1 - beta2 ** this.step;
    const rate = this.learningRate;
    for (let i = 0; i < params.length; i++) {
      const g = grad[i]!;
      const mi = (m[i] = beta1 * m[i]! + (1 - beta1) * g);
      const vi = (v[i] = beta2 * v[i]! + (1 - beta2) * g * g);
      params[i] = params[i]! - (rate * (mi / correction1)) / (Math.sqrt(vi / correction2) + epsilon);
    }
  }
}
