import { Adam } from './adam.ts';
import { advantageBaseline, nextBaseline } from './baseline.ts';
import type { ControllerConfig } from './config.ts';
import { fromBase64, stateDigest, toBase64 } from './digest.ts';
import { LstmPolicy, parameterLayout } from './lstm-policy.ts';
import { seededUniform } from './prng.ts';
import { assertCurrentBatch, sampledArchitecture } from './sample-record.ts';
import { updateRecord } from './update-record.ts';
import type { PolicyUpdate, SampledArchitecture, ScoredSample, SearchStrategy, StrategySnapshot } from './strategy.ts';

/**
 * PPO (the paper) and REINFORCE (the original NAS) share everything but the objective.
 * PPO takes `ppoEpochs` Adam steps per batch on the clipped surrogate
 * -mean(min(ρA, clip(ρ, 1-ε, 1+ε)A)) - β·mean(entropy), ρ = π(a)/π_old(a).
 * REINFORCE is its one-epoch case: at the sampling policy ρ = 1, nothing is clipped, and the
 * surrogate's gradient is the policy gradient -mean(A ∇log π(a)).
 */
export class PolicyGradientStrategy implements SearchStrategy {
  private readonly policy: LstmPolicy;
  private readonly adam: Adam;
  private baseline: number | null;
  private version: number;

  private constructor(
    readonly name: 'ppo' | 'reinforce',
    private readonly seed: number,
    private readonly config: ControllerConfig,
    state: {
      params: Float32Array;
      adam?: { m: Float32Array; v: Float32Array; step: number };
      baseline: number | null;
      version: number;
    },
  ) {
    this.policy = new LstmPolicy(config, state.params);
    this.adam = new Adam(state.params.length, config.learningRate);
    if (state.adam) {
      this.adam.m.set(state.adam.m);
      this.adam.v.set(state.adam.v);
      this.adam.step = state.adam.step;
    }
    this.baseline = state.baseline;
    this.version = state.version;
  }

  static create(name: 'ppo' | 'reinforce', seed: number, config: ControllerConfig): PolicyGradientStrategy {
    const init = LstmPolicy.initialise(config, config.initRange, seededUniform(seed, 'controller-init'));
    return new PolicyGradientStrategy(name, seed, config, { params: init.params, baseline: null, version: 0 });
  }

  static restore(snapshot: StrategySnapshot): PolicyGradientStrategy {
    if (snapshot.strategy !== 'ppo' && snapshot.strategy !== 'reinforce')
      throw new TypeError(`a ${snapshot.strategy} snapshot is not a policy-gradient snapshot`);
    const size = parameterLayout(snapshot.config).size;
    if (snapshot.params === undefined || snapshot.adamM === undefined || snapshot.adamV === undefined) {
      throw new TypeError(`a ${snapshot.strategy} snapshot needs params, adamM and adamV`);
    }
    return new PolicyGradientStrategy(snapshot.strategy, snapshot.seed, snapshot.config, {
      params: fromBase64(snapshot.params, size, 'params'),
      adam: {
        m: fromBase64(snapshot.adamM, size, 'adamM'),
        v: fromBase64(snapshot.adamV, size, 'adamV'),
        step: snapshot.adamStep ?? 0,
      },
      baseline: snapshot.baseline,
      version: snapshot.policyVersion,
    });
  }

  get policyVersion(): number {
    return this.version;
  }

  sample(index: number): SampledArchitecture {
    return this.sampleBatch([index])[0]!;
  }

  sampleBatch(indices: readonly number[]): SampledArchitecture[] {
    const trace = this.policy.sample(indices.map((index) => seededUniform(this.seed, 'sample', this.version, index)));
    return indices.map((index, b) =>
      sampledArchitecture(index, this.version, trace.actions[b]!, trace.logProbs[b]!, trace.entropies[b]!),
    );
  }

  update(batch: readonly ScoredSample[]): PolicyUpdate {
    assertCurrentBatch(batch, this.version);
    const digestBefore = this.digest();
    const rewards = batch.map((scored) => scored.reward);
    const baselineBefore = this.baseline;
    const reference = advantageBaseline(baselineBefore, rewards);
    const advantages = rewards.map((reward) => reward - reference);
    const n = batch.length;
    const clip = this.name === 'ppo' ? this.config.clip : null;
    const epochs = this.name === 'ppo' ? this.config.ppoEpochs : 1;
    const beta = this.config.entropyWeight;
    const grad = new Float64Array(this.policy.params.length);
    let stats = { loss: 0, approxKl: 0, clipFraction: 0, entropy: 0, epochs };
    for (let epoch = 0; epoch < epochs; epoch++) {
      grad.fill(0);
      stats = { loss: 0, approxKl: 0, clipFraction: 0, entropy: 0, epochs };
      const trace = this.policy.evaluate(batch.map(({ sample }) => sample.actions));
      const weights = batch.map(({ sample }, i) => {
        const logProb = trace.logProbs[i]!;
        const entropy = trace.entropies[i]!;
        const advantage = advantages[i]!;
        const ratio = Math.exp(logProb - sample.logProb);
        const clipped = clip === null ? ratio : Math.min(Math.max(ratio, 1 - clip), 1 + clip);
        stats.loss += (-Math.min(ratio * advantage, clipped * advantage) - beta * entropy) / n;
        stats.approxKl += (sample.logProb - logProb) / n;
        stats.entropy += entropy / n;
        if (clip !== null && Math.abs(ratio - 1) > clip) stats.clipFraction += 1 / n;
        // The gradient flows through ρ only where the unclipped term is the minimum.
        return ratio * advantage <= clipped * advantage ? (-advantage * ratio) / n : 0;
      });
      this.policy.backward(trace, weights, -beta / n, grad);
      this.adam.apply(this.policy.params, grad);
      this.policy.invalidate();
    }
    this.baseline = nextBaseline(baselineBefore, rewards, this.config.baselineDecay);
    this.version++;
    return updateRecord(this.version, rewards, { before: baselineBefore, after: this.baseline }, stats, {
      before: digestBefore,
      after: this.digest(),
    });
  }

  digest(): string {
    return stateDigest([this.name, this.policy.params, this.adam.m, this.adam.v, this.adam.step, this.baseline, this.version]);
  }

  snapshot(): StrategySnapshot {
    return {
      strategy: this.name,
      seed: this.seed,
      config: this.config,
      policyVersion: this.version,
      baseline: this.baseline,
      params: toBase64(this.policy.params),
      adamM: toBase64(this.adam.m),
      adamV: toBase64(this.adam.v),
      adamStep: this.adam.step,
    };
  }
}
