import { DECISIONS } from '../search-space/actions.ts';
import { nextBaseline } from './baseline.ts';
import type { ControllerConfig } from './config.ts';
import { stateDigest } from './digest.ts';
import { seededUniform, type Uniform } from './prng.ts';
import { assertCurrentBatch, sampledArchitecture } from './sample-record.ts';
import { updateRecord } from './update-record.ts';
import type { PolicyUpdate, SampledArchitecture, ScoredSample, SearchStrategy, StrategySnapshot } from './strategy.ts';

/** The log-probability of any one architecture when every decision is uniform. */
export const UNIFORM_LOG_PROB = -DECISIONS.reduce((sum, d) => sum + Math.log(d.choices), 0);

/** 50 uniform decisions, one draw each, in decision order. */
export function uniformActions(uniform: Uniform): number[] {
  return DECISIONS.map((d) => Math.floor(uniform() * d.choices));
}

/**
 * Uniform random search over the space: the paper's comparison. Every decision is uniform,
 * so every architecture has the same probability. It learns nothing; its updates only move
 * the version and the baseline, so its events read like the other strategies'.
 */
export class RandomSearchStrategy implements SearchStrategy {
  readonly name = 'random';

  constructor(
    private readonly seed: number,
    private readonly config: ControllerConfig,
    private version = 0,
    private baseline: number | null = null,
  ) {}

  static restore(snapshot: StrategySnapshot): RandomSearchStrategy {
    return new RandomSearchStrategy(snapshot.seed, snapshot.config, snapshot.policyVersion, snapshot.baseline);
  }

  get policyVersion(): number {
    return this.version;
  }

  sample(index: number): SampledArchitecture {
    const actions = uniformActions(seededUniform(this.seed, 'sample', this.version, index));
    return sampledArchitecture(index, this.version, actions, UNIFORM_LOG_PROB, -UNIFORM_LOG_PROB);
  }

  sampleBatch(indices: readonly number[]): SampledArchitecture[] {
    return indices.map((index) => this.sample(index));
  }

  update(batch: readonly ScoredSample[]): PolicyUpdate {
    assertCurrentBatch(batch, this.version);
    const before = this.digest();
    const rewards = batch.map((scored) => scored.reward);
    const baselineBefore = this.baseline;
    this.baseline = nextBaseline(baselineBefore, rewards, this.config.baselineDecay);
    this.version++;
    return updateRecord(this.version, rewards, { before: baselineBefore, after: this.baseline }, null, {
      before,
      after: this.digest(),
    });
  }

  digest(): string {
    return stateDigest([this.name, this.baseline, this.version]);
  }

  snapshot(): StrategySnapshot {
    return { strategy: 'random', seed: this.seed, config: this.config, policyVersion: this.version, baseline: this.baseline };
  }
}
