import type { Genotype } from '../search-space/genotype.ts';
import type { ControllerConfig } from './config.ts';

export const STRATEGY_NAMES = ['ppo', 'reinforce', 'random', 'evolution'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** One architecture as the controller drew it. */
export interface SampledArchitecture {
  index: number;
  policyVersion: number;
  actions: number[];
  logProb: number;
  entropy: number;
  genotype: Genotype;
  cellHash: string;
}

export interface ScoredSample {
  sample: SampledArchitecture;
  reward: number;
}

export interface UpdateStats {
  loss: number;
  approxKl: number;
  clipFraction: number;
  entropy: number;
  epochs: number;
}

/** What one policy update did; the runtime records it as a PolicyUpdated event. */
export interface PolicyUpdate {
  /** The version the update produced. */
  policyVersion: number;
  meanReward: number;
  baselineBefore: number | null;
  baselineAfter: number | null;
  stats: UpdateStats | null;
  paramsDigestBefore: string;
  paramsDigestAfter: string;
}

/** Everything needed to continue a strategy exactly where it was (JSON-able). */
export interface StrategySnapshot {
  strategy: StrategyName;
  seed: number;
  config: ControllerConfig;
  policyVersion: number;
  baseline: number | null;
  /** Base64 of the float32 parameters, Adam moments and step; absent for random search. */
  params?: string;
  adamM?: string;
  adamV?: string;
  adamStep?: number;
  /** Evolution's population, oldest first: each member's actions and reward. */
  population?: PopulationMember[];
}

/** One member of an evolutionary population: an architecture that was scored. */
export interface PopulationMember {
  actions: number[];
  reward: number;
}

/**
 * A search strategy: draws architectures and learns from their rewards. Sampling is a pure
 * function of (seed, policy version, sample index) and the current state, so any sample can
 * be drawn again, in any process.
 */
export interface SearchStrategy {
  readonly name: StrategyName;
  readonly policyVersion: number;
  sample(index: number): SampledArchitecture;
  /** The same architectures as sample() one by one, drawn together (faster). */
  sampleBatch(indices: readonly number[]): SampledArchitecture[];
  /** Learns from a batch drawn at the current policy version; the version then goes up by one. */
  update(batch: readonly ScoredSample[]): PolicyUpdate;
  /** SHA-256 (hex) over the state in a fixed order: parameters and optimiser state (or evolution's population), baseline, version. */
  digest(): string;
  snapshot(): StrategySnapshot;
}
