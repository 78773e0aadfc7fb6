/**
 * Controller strategies on a synthetic objective with a known best cell, plus speed.
 *   npm run bench:controller -- --json [--seeds 3] [--batches 30] [--batch 20] [--final 5]
 * Reward = fraction of the 50 decisions that agree with a hidden target cell (drawn per
 * seed); every strategy gets the same number of samples. Controller settings are the
 * paper's unless overridden (--lr, --ppo-epochs); evolution's population and tournament
 * take their batch-scaled defaults (100 and 25 at batches of 20). Prints one JSON object.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { createStrategy } from '../core/controller/create-strategy.ts';
import { controllerConfig, evolutionSizes, PAPER_CONTROLLER, type ControllerConfig } from '../core/controller/config.ts';
import { STRATEGY_NAMES, type StrategyName } from '../core/controller/strategy.ts';
import { genotypeText } from '../core/search-space/render.ts';
import { targetSimilarity } from '../plugins/trainers/synthetic/target-similarity.ts';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '3' },
    batches: { type: 'string', default: '30' },
    batch: { type: 'string', default: '20' },
    final: { type: 'string', default: '5' },
    lr: { type: 'string' },
    'ppo-epochs': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const seeds = Number(values.seeds);
const batches = Number(values.batches);
const batchSize = Number(values.batch);
const finalBatches = Number(values.final);
const overrides: Partial<ControllerConfig> = { batchSize };
if (values.lr) overrides.learningRate = Number(values.lr);
if (values['ppo-epochs']) overrides.ppoEpochs = Number(values['ppo-epochs']);

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (x: number, digits = 4) => Number(x.toFixed(digits));

interface Run {
  curve: number[];
  digests: string[];
  updateMs: number[];
  sampleMs: number;
  samples: number;
}

function run(strategyName: StrategyName, seed: number): Run {
  // The hidden target: a uniformly random cell, different for every seed.
  const target = createStrategy('random', 1_000_003 * seed + 17).sample(0).genotype;
  const reward = targetSimilarity(target);
  const strategy = createStrategy(strategyName, seed, overrides);
  const out: Run = { curve: [], digests: [strategy.digest()], updateMs: [], sampleMs: 0, samples: 0 };
  for (let b = 0; b < batches; b++) {
    let start = performance.now();
    const drawn = strategy.sampleBatch(Array.from({ length: batchSize }, (_, i) => b * batchSize + i));
    out.sampleMs += performance.now() - start;
    out.samples += drawn.length;
    const scored = drawn.map((sample) => ({ sample, reward: reward(sample.genotype) }));
    out.curve.push(mean(scored.map((s) => s.reward)));
    start = performance.now();
    strategy.update(scored);
    out.updateMs.push(performance.now() - start);
    out.digests.push(strategy.digest());
  }
  return out;
}

const results: Record<string, unknown> = {};
const finals: Record<string, number[]> = {};
let ppoUpdateMs: number[] = [];
let samplesPerSec = 0;
let evolutionSamplesPerSec = 0;
for (const name of STRATEGY_NAMES) {
  const runs = Array.from({ length: seeds }, (_, s) => run(name, s + 1));
  const curve = Array.from({ length: batches }, (_, b) => round(mean(runs.map((r) => r.curve[b]!))));
  finals[name] = runs.map((r) => mean(r.curve.slice(-finalBatches)));
  results[name] = {
    finalMeanReward: round(mean(finals[name]!)),
    finalMeanRewardPerSeed: finals[name]!.map((x) => round(x)),
    firstBatchMeanReward: curve[0],
    curve,
  };
  if (name === 'ppo') {
    ppoUpdateMs = runs.flatMap((r) => r.updateMs);
    samplesPerSec = runs.reduce((a, r) => a + r.samples, 0) / (runs.reduce((a, r) => a + r.sampleMs, 0) / 1000);
  }
  if (name === 'evolution') {
    evolutionSamplesPerSec = runs.reduce((a, r) => a + r.samples, 0) / (runs.reduce((a, r) => a + r.sampleMs, 0) / 1000);
  }
}

const beatsOnEverySeed = (a: string, b: string) => finals[a]!.every((x, s) => x > finals[b]![s]!);
const evolutionVsPpoPerSeed = finals.evolution!.map((evolution, s) => ({
  seed: s + 1,
  evolution: round(evolution),
  ppo: round(finals.ppo![s]!),
  difference: round(evolution - finals.ppo![s]!),
}));

// Determinism: the same seed and rewards, run twice, must give the same digest after every update.
const first = run('ppo', 1);
const second = run('ppo', 1);
const sameDigests = (a: Run, b: Run) => a.digests.length === b.digests.length && a.digests.every((d, i) => d === b.digests[i]);
const deterministic = sameDigests(first, second);
const evolutionDeterministic = sameDigests(run('evolution', 1), run('evolution', 1));

const sorted = [...ppoUpdateMs].sort((a, b) => a - b);
const output = {
  ...results,
  ppoBeatsRandomOnEverySeed: beatsOnEverySeed('ppo', 'random'),
  evolutionBeatsRandomOnEverySeed: beatsOnEverySeed('evolution', 'random'),
  // Final mean rewards (last `final` batches) side by side; difference = evolution − ppo.
  evolutionVsPpo: {
    perSeed: evolutionVsPpoPerSeed,
    meanDifference: round(
      mean(evolutionVsPpoPerSeed.map((row) => finals.evolution![row.seed - 1]! - finals.ppo![row.seed - 1]!)),
    ),
  },
  ppoUpdateMs: round(mean(ppoUpdateMs), 1),
  ppoUpdateMsP95: round(sorted[Math.floor(sorted.length * 0.95)]!, 1),
  samplesPerSec: Math.round(samplesPerSec),
  evolutionSamplesPerSec: Math.round(evolutionSamplesPerSec),
  deterministic,
  evolutionDeterministic,
  settings: {
    seeds,
    batches,
    batchSize,
    samplesPerStrategyPerSeed: batches * batchSize,
    finalBatches,
    controller: { ...PAPER_CONTROLLER, ...overrides },
    evolution: evolutionSizes(controllerConfig(overrides)),
    objective: 'fraction of the 50 decisions equal to a hidden random target cell (one per seed)',
    exampleTarget: genotypeText(createStrategy('random', 1_000_003 + 17).sample(0).genotype),
  },
  machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' },
};
console.log(values.json ? JSON.stringify(output) : JSON.stringify(output, null, 2));
