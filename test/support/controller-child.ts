/** Prints the digests of a fixed PPO run, for the cross-process determinism test. */
import { createStrategy } from '../../core/controller/create-strategy.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { targetSimilarity } from '../../plugins/trainers/synthetic/target-similarity.ts';

const [strategyName = 'ppo', seedText = '7', batchesText = '3'] = process.argv.slice(2);
const reward = targetSimilarity(NASNET_A);
const strategy = createStrategy(strategyName, Number(seedText), { batchSize: 8, ppoEpochs: 2 });
const digests = [strategy.digest()];
for (let b = 0; b < Number(batchesText); b++) {
  const drawn = strategy.sampleBatch(Array.from({ length: 8 }, (_, i) => b * 8 + i));
  strategy.update(drawn.map((sample) => ({ sample, reward: reward(sample.genotype) })));
  digests.push(strategy.digest());
}
process.stdout.write(`${JSON.stringify(digests)}\n`);
