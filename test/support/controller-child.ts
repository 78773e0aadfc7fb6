/** Prints the digests of a fixed run (PPO unless told), for the cross-process determinism tests; argv: strategy seed batches [controller overrides as JSON]. */
import { createStrategy } from '../../core/controller/create-strategy.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { targetSimilarity } from '../../plugins/trainers/synthetic/target-similarity.ts';

const [strategyName = 'ppo', seedText = '7', batchesText = '3', overridesText = '{}'] = process.argv.slice(2);
const reward = targetSimilarity(NASNET_A);
const overrides = { batchSize: 8, ppoEpochs: 2, ...(JSON.parse(overridesText) as Record<string, number>) };
const strategy = createStrategy(strategyName, Number(seedText), overrides);
const digests = [strategy.digest()];
for (let b = 0; b < Number(batchesText); b++) {
  const drawn = strategy.sampleBatch(Array.from({ length: overrides.batchSize }, (_, i) => b * overrides.batchSize + i));
  strategy.update(drawn.map((sample) => ({ sample, reward: reward(sample.genotype) })));
  digests.push(strategy.digest());
}
process.stdout.write(`${JSON.stringify(digests)}\n`);
