import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createStrategy, restoreStrategy } from '../../core/controller/create-strategy.ts';
import { controllerConfig, PAPER_CONTROLLER } from '../../core/controller/config.ts';
import { fromBase64 } from '../../core/controller/digest.ts';
import { LstmPolicy, parameterLayout } from '../../core/controller/lstm-policy.ts';
import { seededUniform } from '../../core/controller/prng.ts';
import { DECISIONS } from '../../core/search-space/actions.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { targetSimilarity } from '../../plugins/trainers/synthetic/target-similarity.ts';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('../support/controller-child.ts', import.meta.url));

describe('controller network', () => {
  it('back-propagates the exact gradient of log-probability and entropy (finite differences)', () => {
    // Odd sizes exercise the kernels' padding; three sequences an odd batch.
    const shape = { hiddenSize: 5, embeddingSize: 3 };
    const policy = LstmPolicy.initialise(shape, 0.5, seededUniform('gradient-check'));
    const actions = policy.sample([seededUniform('a'), seededUniform('b'), seededUniform('c')]).actions;
    const weights = [0.7, -1.3, 0.4];
    const entropyWeight = -0.25;
    const loss = () => {
      const trace = policy.evaluate(actions);
      let total = 0;
      for (let b = 0; b < 3; b++) total += weights[b]! * trace.logProbs[b]! + entropyWeight * trace.entropies[b]!;
      return total;
    };
    const grad = new Float64Array(policy.params.length);
    policy.backward(policy.evaluate(actions), weights, entropyWeight, grad);
    const { layout } = policy;
    const probes = [
      layout.embedding + 2,
      layout.embedding + 3 * 7 + 1,
      layout.inputWeights + 4,
      layout.inputWeights + 31,
      layout.hiddenWeights,
      layout.hiddenWeights + 57,
      layout.hiddenWeights + 4 * 5 * 5 - 1,
      layout.gateBias + 3,
      layout.gateBias + 17,
      layout.heads[0]!.weights + 1,
      layout.heads[27]!.weights + 9,
      layout.heads[49]!.bias + 1,
    ];
    for (const index of probes) {
      const original = policy.params[index]!;
      const epsilon = 1e-3;
      policy.params[index] = original + epsilon;
      policy.invalidate();
      const up = loss();
      policy.params[index] = original - epsilon;
      policy.invalidate();
      const down = loss();
      policy.params[index] = original;
      policy.invalidate();
      const numeric = (up - down) / (Math.fround(original + epsilon) - Math.fround(original - epsilon));
      assert.ok(
        Math.abs(numeric - grad[index]!) <= 1e-4 + 1e-3 * Math.abs(numeric),
        `parameter ${index}: analytic ${grad[index]} vs numeric ${numeric}`,
      );
    }
  });

  it('initialises weights uniformly in [-0.1, 0.1] with 100 hidden units (the paper)', () => {
    const strategy = createStrategy('ppo', 3);
    const view = fromBase64(strategy.snapshot().params!, parameterLayout(PAPER_CONTROLLER).size, 'params');
    assert.equal(PAPER_CONTROLLER.hiddenSize, 100);
    assert.ok(view.every((w) => w >= -0.1 && w <= 0.1));
    assert.ok(Math.min(...view) < -0.099 && Math.max(...view) > 0.099);
  });
});

describe('sampling', () => {
  it('draws sample i of version v from (seed, v, i) alone: the same alone, in a batch, or again', () => {
    const strategy = createStrategy('ppo', 11);
    const batch = strategy.sampleBatch([4, 9, 2]);
    assert.deepEqual(strategy.sample(9), batch[1]);
    assert.deepEqual(createStrategy('ppo', 11).sample(2), batch[2]);
    assert.notDeepEqual(strategy.sample(10).actions, batch[1]!.actions);
    assert.notDeepEqual(createStrategy('ppo', 12).sample(9).actions, batch[1]!.actions);
    const sample = batch[0]!;
    assert.equal(sample.actions.length, 50);
    sample.actions.forEach((a, t) => assert.ok(a >= 0 && a < DECISIONS[t]!.choices));
    assert.ok(sample.logProb < 0 && sample.entropy > 0);
  });

  it('returns the log-probability the network gives the drawn actions', () => {
    const strategy = createStrategy('reinforce', 5, { hiddenSize: 20, embeddingSize: 10 });
    const sample = strategy.sample(0);
    const snapshot = strategy.snapshot();
    const policy = new LstmPolicy(snapshot.config, fromBase64(snapshot.params!, parameterLayout(snapshot.config).size, 'params'));
    const trace = policy.evaluate([sample.actions]);
    assert.equal(trace.logProbs[0], sample.logProb);
    assert.equal(trace.entropies[0], sample.entropy);
  });

  it('random search draws every decision uniformly', () => {
    const strategy = createStrategy('random', 1);
    const counts = new Array(13).fill(0);
    for (let i = 0; i < 1300; i++) counts[strategy.sample(i).actions[2]!]++;
    // 100 expected per op; a chi-square with 12 degrees of freedom stays under 32.9 (p = 0.001)
    const chi = counts.reduce((sum, n) => sum + (n - 100) ** 2 / 100, 0);
    assert.ok(chi < 32.9, `chi-square ${chi}`);
    const sample = strategy.sample(0);
    assert.equal(sample.logProb, -sample.entropy);
  });
});

describe('learning', () => {
  const reward = targetSimilarity(NASNET_A);
  const train = (name: string, batches: number, overrides = {}) => {
    const strategy = createStrategy(name, 21, { batchSize: 20, ...overrides });
    const means: number[] = [];
    for (let b = 0; b < batches; b++) {
      const drawn = strategy.sampleBatch(Array.from({ length: 20 }, (_, i) => b * 20 + i));
      const scored = drawn.map((sample) => ({ sample, reward: reward(sample.genotype) }));
      means.push(scored.reduce((s, x) => s + x.reward, 0) / 20);
      const update = strategy.update(scored);
      assert.equal(update.policyVersion, b + 1);
    }
    return { strategy, final: means.slice(-3).reduce((a, b) => a + b, 0) / 3 };
  };

  it('PPO beats random search at equal samples on a synthetic objective (small RL sanity check)', () => {
    // A larger step than the paper's so that 8 batches show it; bench:controller runs the paper's.
    const ppo = train('ppo', 8, { learningRate: 0.003 });
    const random = train('random', 8);
    assert.ok(ppo.final > random.final + 0.05, `ppo ${ppo.final} vs random ${random.final}`);
  });

  it('reports PPO statistics and the baseline as an exponential moving average', () => {
    const strategy = createStrategy('ppo', 2, { batchSize: 4 });
    const drawn = strategy.sampleBatch([0, 1, 2, 3]);
    const rewards = [0.1, 0.2, 0.3, 0.6];
    const update = strategy.update(drawn.map((sample, i) => ({ sample, reward: rewards[i]! })));
    assert.equal(update.baselineBefore, null);
    const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
    let expected = mean;
    for (const r of rewards) expected = 0.95 * expected + (1 - 0.95) * r;
    assert.equal(update.baselineAfter, expected);
    assert.equal(update.meanReward, mean);
    assert.equal(update.stats!.epochs, 4);
    assert.ok(update.stats!.clipFraction >= 0 && update.stats!.clipFraction <= 1);
    assert.notEqual(update.paramsDigestAfter, update.paramsDigestBefore);
    assert.throws(
      () => strategy.update(drawn.map((sample) => ({ sample, reward: 1 }))),
      /drawn by policy version 0, not the current 1/,
    );
  });
});

describe('determinism and state', () => {
  it('gives bit-identical digests in two separate processes and in this one', async () => {
    const [a, b] = await Promise.all([
      run(process.execPath, ['--import', 'tsx', CHILD]),
      run(process.execPath, ['--import', 'tsx', CHILD]),
    ]);
    const digests = JSON.parse(a.stdout) as string[];
    assert.equal(digests.length, 4);
    assert.deepEqual(JSON.parse(b.stdout), digests);
    assert.equal(new Set(digests).size, 4, 'every update changes the state');
    const reward = targetSimilarity(NASNET_A);
    const here = createStrategy('ppo', 7, { batchSize: 8, ppoEpochs: 2 });
    const local = [here.digest()];
    for (let batch = 0; batch < 3; batch++) {
      const drawn = here.sampleBatch(Array.from({ length: 8 }, (_, i) => batch * 8 + i));
      here.update(drawn.map((sample) => ({ sample, reward: reward(sample.genotype) })));
      local.push(here.digest());
    }
    assert.deepEqual(local, digests);
  });

  it('continues from a snapshot exactly as if it had never stopped', () => {
    const reward = targetSimilarity(NASNET_A);
    const step = (s: ReturnType<typeof createStrategy>, batch: number) => {
      const drawn = s.sampleBatch(Array.from({ length: 6 }, (_, i) => batch * 6 + i));
      return s.update(drawn.map((sample) => ({ sample, reward: reward(sample.genotype) })));
    };
    for (const name of ['ppo', 'reinforce', 'random']) {
      const straight = createStrategy(name, 4, { batchSize: 6 });
      const stopped = createStrategy(name, 4, { batchSize: 6 });
      step(straight, 0);
      step(stopped, 0);
      const resumed = restoreStrategy(JSON.parse(JSON.stringify(stopped.snapshot())));
      assert.equal(resumed.digest(), stopped.digest());
      assert.deepEqual(step(resumed, 1), step(straight, 1));
      assert.equal(resumed.digest(), straight.digest());
    }
  });

  it('refuses bad settings, naming the field and the value', () => {
    assert.throws(
      () => createStrategy('annealing', 1),
      /strategy must be one of ppo, reinforce, random, evolution \(got "annealing"\)/,
    );
    assert.throws(() => controllerConfig({ learningRate: -1 }), /controller config learningRate .*\(got -1\)/);
    assert.throws(() => controllerConfig({ ppoEpochs: 2.5 }), /controller config ppoEpochs .*\(got 2.5\)/);
    assert.throws(() => createStrategy('ppo', 1.5), /seed must be an integer \(got 1.5\)/);
  });
});
