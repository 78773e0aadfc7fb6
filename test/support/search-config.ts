import { DEFAULT_TRIALS, type SearchConfig } from '../../core/runtime/search-config.ts';

/** A small search for runtime tests: a plugin named `fake`, batches of 4, quick retries. */
export function testSearchConfig(overrides: Partial<SearchConfig> = {}, epochs = 2): SearchConfig {
  return {
    strategy: 'ppo',
    controller: { batchSize: 4, ppoEpochs: 1 },
    samples: 12,
    trainer: 'fake',
    trainerOptions: {},
    dataset: 'none',
    network: { N: 1, filters: 4 },
    epochs,
    training: {},
    reuse: false,
    trials: { ...DEFAULT_TRIALS, retryBackoffSeconds: 0.01 },
    ...overrides,
  };
}
