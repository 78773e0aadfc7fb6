import { controllerConfig, type ControllerConfig } from './config.ts';
import { EvolutionStrategy } from './evolution.ts';
import { PolicyGradientStrategy } from './policy-gradient.ts';
import { RandomSearchStrategy } from './random-search.ts';
import { STRATEGY_NAMES, type SearchStrategy, type StrategyName, type StrategySnapshot } from './strategy.ts';

export function isStrategyName(value: unknown): value is StrategyName {
  return typeof value === 'string' && (STRATEGY_NAMES as readonly string[]).includes(value);
}

/** A fresh strategy at policy version 0. The same name, seed and config always give the same digest. */
export function createStrategy(name: string, seed: number, overrides: Partial<ControllerConfig> = {}): SearchStrategy {
  if (!isStrategyName(name))
    throw new RangeError(`strategy must be one of ${STRATEGY_NAMES.join(', ')} (got ${JSON.stringify(name)})`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer (got ${seed})`);
  const config = controllerConfig(overrides);
  switch (name) {
    case 'random':
      return new RandomSearchStrategy(seed, config);
    case 'evolution':
      return EvolutionStrategy.create(seed, config);
    case 'ppo':
    case 'reinforce':
      return PolicyGradientStrategy.create(name, seed, config);
  }
}

export function restoreStrategy(snapshot: StrategySnapshot): SearchStrategy {
  switch (snapshot.strategy) {
    case 'random':
      return RandomSearchStrategy.restore(snapshot);
    case 'evolution':
      return EvolutionStrategy.restore(snapshot);
    case 'ppo':
    case 'reinforce':
      return PolicyGradientStrategy.restore(snapshot);
  }
}
