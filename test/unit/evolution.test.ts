import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { auditExperiment } from '../../core/audit/audit.ts';
import { mean, nextBaseline } from '../../core/controller/baseline.ts';
import { controllerConfig, evolutionSizes } from '../../core/controller/config.ts';
import { createStrategy, restoreStrategy } from '../../core/controller/create-strategy.ts';
import { EvolutionStrategy, mutate, tournament } from '../../core/controller/evolution.ts';
import { seededUniform } from '../../core/controller/prng.ts';
import { UNIFORM_LOG_PROB } from '../../core/controller/random-search.ts';
import type { SampledArchitecture, SearchStrategy } from '../../core/controller/strategy.ts';
import type { RecordedEvent } from '../../core/events/event.ts';
import { validateSearchConfig } from '../../core/runtime/search-config.ts';
import { DECISIONS } from '../../core/search-space/actions.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { targetSimilarity } from '../../plugins/trainers/synthetic/target-similarity.ts';
import { testSearchConfig } from '../support/search-config.ts';
import { simulateExperiment } from '../support/simulate.ts';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('../support/controller-child.ts', import.meta.url));

const reward = targetSimilarity(NASNET_A);
/** Small enough that mutations start after two batches. */
const SMALL = { batchSize: 4, populationSize: 8, tournamentSize: 3 };

function evolution(seed: number, overrides: Partial<typeof SMALL> = SMALL): EvolutionStrategy {
  const strategy = createStrategy('evolution', seed, overrides);
  assert.ok(strategy instanceof EvolutionStrategy);
  return strategy;
}

/** Draws batch `batch` and updates with the synthetic reward; returns the samples. */
function step(strategy: SearchStrategy, batch: number, batchSize: number, score = reward): SampledArchitecture[] {
  const drawn = strategy.sampleBatch(Array.from({ length: batchSize }, (_, i) => batch * batchSize + i));
  strategy.update(drawn.map((sample) => ({ sample, reward: score(sample.genotype) })));
  return drawn;
}

const differences = (a: readonly number[], b: readonly number[]) => a.flatMap((value, t) => (value === b[t] ? [] : [t]));

describe('evolution: configuration', () => {
  it('given no sizes, when the batch is 20, then P and S are the paper’s 100 and 25, and they scale with the batch', () => {
    assert.deepEqual(evolutionSizes(controllerConfig()), { populationSize: 100, tournamentSize: 25 });
    assert.deepEqual(evolutionSizes(controllerConfig({ batchSize: 4 })), { populationSize: 20, tournamentSize: 5 });
    assert.deepEqual(evolutionSizes(controllerConfig({ batchSize: 1 })), { populationSize: 5, tournamentSize: 2 });
    assert.deepEqual(
      evolutionSizes(controllerConfig({ batchSize: 20, populationSize: 3 })),
      { populationSize: 3, tournamentSize: 3 },
      'S never exceeds P',
    );
    assert.deepEqual(evolutionSizes(controllerConfig(SMALL)), { populationSize: 8, tournamentSize: 3 });
    assert.deepEqual(evolution(1, { batchSize: 6 }).settings, { populationSize: 30, tournamentSize: 8 });
  });

  it('given a tournament larger than the population, when configured, then it is refused naming the field and the value', () => {
    assert.throws(
      () => controllerConfig({ populationSize: 8, tournamentSize: 9 }),
      /controller config tournamentSize must be <= populationSize \(8\).*\(got 9\)/,
    );
    assert.throws(
      () => createStrategy('evolution', 1, { batchSize: 4, tournamentSize: 21 }),
      /tournamentSize must be <= populationSize \(20, the default 5 × batchSize 4\).*\(got 21\)/,
    );
    assert.throws(() => controllerConfig({ populationSize: 0 }), /controller config populationSize .*\(got 0\)/);
    assert.throws(() => controllerConfig({ tournamentSize: 2.5 }), /controller config tournamentSize .*\(got 2.5\)/);
    assert.throws(
      () =>
        validateSearchConfig(
          testSearchConfig({ strategy: 'evolution', controller: { batchSize: 4, populationSize: 4, tournamentSize: 5 } }),
        ),
      /^SearchConfigError: controller.tournamentSize must be <= populationSize \(4\).*\(got 5\)$/,
    );
  });

  it('given evolution settings in a PPO config, when PPO samples and learns, then its samples and digests are unchanged', () => {
    const plain = createStrategy('ppo', 5, { batchSize: 4, ppoEpochs: 1, hiddenSize: 16, embeddingSize: 8 });
    const extra = createStrategy('ppo', 5, {
      batchSize: 4,
      ppoEpochs: 1,
      hiddenSize: 16,
      embeddingSize: 8,
      populationSize: 8,
      tournamentSize: 3,
    });
    assert.equal(extra.digest(), plain.digest());
    assert.deepEqual(step(extra, 0, 4), step(plain, 0, 4));
    assert.equal(extra.digest(), plain.digest());
  });
});

describe('evolution: sampling', () => {
  it('given a population smaller than P, when sampling, then it draws exactly what random search draws', () => {
    const evo = evolution(3);
    const random = createStrategy('random', 3, SMALL);
    for (let batch = 0; batch < 2; batch++) {
      const indices = [batch * 4, batch * 4 + 1, batch * 4 + 2, batch * 4 + 3];
      assert.ok(indices.every((i) => evo.draw(i).origin.kind === 'random'));
      assert.deepEqual(evo.sampleBatch(indices), random.sampleBatch(indices));
      step(evo, batch, 4);
      step(random, batch, 4);
    }
    assert.equal(evo.members.length, 8);
    assert.equal(evo.draw(8).origin.kind, 'mutation');
    assert.equal(evo.sample(8).logProb > UNIFORM_LOG_PROB, true, 'a mutant is far likelier than a uniform cell');
  });

  it('given a full population, when sampling, then each child is its tournament winner with exactly one input or op changed', () => {
    const strategy = evolution(11);
    for (let batch = 0; batch < 6; batch++) step(strategy, batch, 4);
    const members = strategy.members;
    const { tournamentSize } = strategy.settings;
    for (let index = 24; index < 224; index++) {
      const { sample, origin } = strategy.draw(index);
      assert.equal(origin.kind, 'mutation');
      if (origin.kind !== 'mutation') continue;
      assert.equal(new Set(origin.contestants).size, tournamentSize, 'distinct contestants');
      assert.ok(origin.contestants.every((c) => c >= 0 && c < members.length));
      const best = Math.max(...origin.contestants.map((c) => members[c]!.reward));
      const youngestBest = Math.max(...origin.contestants.filter((c) => members[c]!.reward === best));
      assert.equal(origin.parent, youngestBest, 'the highest reward wins, ties to the youngest');
      const changed = differences(sample.actions, members[origin.parent]!.actions);
      assert.deepEqual(changed, [origin.mutation.decision], 'exactly one decision differs from the parent');
      const decision = DECISIONS[origin.mutation.decision]!;
      assert.equal(decision.kind, origin.mutation.kind === 'hidden' ? 'input' : 'op');
      assert.equal(decision.field, `${origin.mutation.kind === 'hidden' ? 'input' : 'op'}${origin.mutation.pair}`);
      assert.deepEqual([decision.cell, decision.block], [origin.mutation.cell, origin.mutation.block]);
      assert.notEqual(origin.mutation.to, origin.mutation.from);
      assert.ok(origin.mutation.to >= 0 && origin.mutation.to < decision.choices);
      const expectedLogProb =
        Math.log(1 / 2) + Math.log(1 / 5) + Math.log(1 / 2) + Math.log(1 / 2) + Math.log(1 / (decision.choices - 1));
      assert.ok(Math.abs(sample.logProb - expectedLogProb) < 1e-12, `logProb ${sample.logProb} vs ${expectedLogProb}`);
      assert.equal(sample.entropy, -sample.logProb);
      assert.ok(Number.isFinite(sample.logProb));
      // Redrawn alone, in any order: the same child (the audit depends on it).
      assert.deepEqual(strategy.sample(index), sample);
    }
  });

  it('given many draws, when mutating, then every cell, block, side and kind is reached and every op and input value appears', () => {
    const parent: number[] = Array(50).fill(0);
    const sites = new Set<string>();
    const opTargets = new Set<number>();
    const inputTargets = new Set<string>();
    for (let i = 0; i < 4000; i++) {
      const { actions, mutation } = mutate(parent, seededUniform('mutation-coverage', i));
      assert.equal(differences(actions, parent).length, 1);
      assert.notEqual(DECISIONS[mutation.decision]!.kind, 'combine', 'the combine method is never mutated');
      sites.add(`${mutation.cell}/${mutation.block}/${mutation.pair}/${mutation.kind}`);
      if (mutation.kind === 'op') opTargets.add(mutation.to);
      else inputTargets.add(`${mutation.block}:${mutation.to}`);
    }
    assert.equal(sites.size, 2 * 5 * 2 * 2, 'every (cell, block, pair, kind)');
    assert.deepEqual(
      [...opTargets].sort((a, b) => a - b),
      Array.from({ length: 12 }, (_, i) => i + 1),
      'every op other than the parent’s',
    );
    // Block k may read states 0..k+1; the parent reads 0, so 1..k+1 are the other choices: 1+2+3+4+5 = 15.
    assert.equal(inputTargets.size, 15);
  });

  it('given a tournament, when rewards tie, then the youngest wins; when it draws the whole population, then each member once', () => {
    const all = tournament([0.5, 0.5, 0.5, 0.5], 4, seededUniform('tie'));
    assert.deepEqual([...all.contestants].sort(), [0, 1, 2, 3]);
    assert.equal(all.winner, 3);
    const some = tournament([0.9, 0.1, 0.1, 0.1, 0.1], 2, seededUniform('some'));
    assert.equal(some.winner, some.contestants.includes(0) ? 0 : Math.max(...some.contestants));
    assert.throws(() => tournament([0.1], 2, seededUniform('x')), /a tournament of 2 needs a population of at least 2 \(has 1\)/);
  });
});

describe('evolution: updates, ageing and state', () => {
  it('given more scored samples than P, when updating, then the population holds the last P in order (the oldest leave first)', () => {
    const strategy = evolution(4, { batchSize: 4, populationSize: 10, tournamentSize: 3 });
    const scored: Array<{ actions: number[]; reward: number }> = [];
    for (let batch = 0; batch < 6; batch++) {
      const drawn = step(strategy, batch, 4);
      scored.push(...drawn.map((sample) => ({ actions: sample.actions, reward: reward(sample.genotype) })));
      assert.deepEqual(strategy.members, scored.slice(-10));
    }
    assert.equal(strategy.members.length, 10);
    assert.equal(strategy.policyVersion, 6);
  });

  it('given an update, when it runs, then it reports the EMA baseline, no statistics and the digests before and after', () => {
    const strategy = evolution(2);
    const drawn = strategy.sampleBatch([0, 1, 2, 3]);
    const rewards = [0.1, 0.2, 0.3, 0.6];
    const before = strategy.digest();
    const update = strategy.update(drawn.map((sample, i) => ({ sample, reward: rewards[i]! })));
    assert.deepEqual(update, {
      policyVersion: 1,
      meanReward: mean(rewards),
      baselineBefore: null,
      baselineAfter: nextBaseline(null, rewards, 0.95),
      stats: null,
      paramsDigestBefore: before,
      paramsDigestAfter: strategy.digest(),
    });
    assert.notEqual(update.paramsDigestAfter, before);
    assert.throws(
      () => strategy.update(drawn.map((sample) => ({ sample, reward: 1 }))),
      /drawn by policy version 0, not the current 1/,
    );
  });

  it('given the same seed and rewards, when run twice, then samples and digests agree after every update; one changed reward changes the digest', () => {
    const a = evolution(9);
    const b = evolution(9);
    const c = evolution(9);
    for (let batch = 0; batch < 6; batch++) {
      assert.deepEqual(step(a, batch, 4), step(b, batch, 4));
      assert.equal(a.digest(), b.digest());
      // c sees the same samples with one reward of the first batch nudged.
      step(c, batch, 4, batch === 0 ? (g) => reward(g) + 1e-9 : reward);
    }
    assert.notEqual(c.digest(), a.digest());
  });

  it('given two processes, when they run the same evolution, then their digests are bit-identical and match this process', async () => {
    const overrides = JSON.stringify(SMALL);
    const args = ['--import', 'tsx', CHILD, 'evolution', '7', '6', overrides];
    const [first, second] = await Promise.all([run(process.execPath, args), run(process.execPath, args)]);
    const digests = JSON.parse(first.stdout) as string[];
    assert.equal(digests.length, 7);
    assert.deepEqual(JSON.parse(second.stdout), digests);
    assert.equal(new Set(digests).size, 7, 'every update changes the state');
    const here = evolution(7);
    const local = [here.digest()];
    for (let batch = 0; batch < 6; batch++) {
      step(here, batch, 4);
      local.push(here.digest());
    }
    assert.deepEqual(local, digests);
  });

  it('given a snapshot through JSON, when restored, then the digest, the next samples and the next updates are the same', () => {
    const straight = evolution(5);
    const stopped = evolution(5);
    for (let batch = 0; batch < 3; batch++) {
      step(straight, batch, 4);
      step(stopped, batch, 4);
    }
    const snapshot = JSON.parse(JSON.stringify(stopped.snapshot()));
    assert.equal(snapshot.population.length, 8);
    const resumed = restoreStrategy(snapshot);
    assert.equal(resumed.digest(), stopped.digest());
    for (let batch = 3; batch < 6; batch++) {
      assert.deepEqual(step(resumed, batch, 4), step(straight, batch, 4));
      assert.equal(resumed.digest(), straight.digest());
    }
  });

  it('given a corrupt snapshot, when restored, then it is refused naming the member and the value', () => {
    const snapshot = evolution(5).snapshot();
    const member = { actions: Array(50).fill(0), reward: 0.5 };
    assert.throws(
      () => restoreStrategy({ ...snapshot, population: [{ ...member, reward: Number.NaN }] }),
      /population\[0\]\.reward must be a finite number/,
    );
    assert.throws(
      () => restoreStrategy({ ...snapshot, population: [member, { ...member, actions: [...member.actions.slice(0, 49), 7] }] }),
      /population\[1\]: action 49 .*got 7/,
    );
    assert.throws(
      () => restoreStrategy({ ...snapshot, population: Array(9).fill(member) }),
      /population holds 9 members, more than populationSize 8/,
    );
  });
});

describe('evolution: audit', () => {
  const controller = SMALL;
  const clean = simulateExperiment({ experimentId: 'evo', strategy: 'evolution', seed: 3, batches: 5, reward, controller });
  const isUpdate = (version: number) => (e: RecordedEvent) => e.type === 'PolicyUpdated' && e.data.policyVersion === version;

  function tamper(pick: (e: RecordedEvent) => boolean, change: (e: RecordedEvent) => void, nth = 0): RecordedEvent[] {
    const copy = clean.map((e) => structuredClone(e));
    const target = copy.filter(pick)[nth];
    assert.ok(target, 'the event to tamper with exists');
    change(target);
    return copy;
  }

  it('given a simulated evolution experiment, when audited, then every sample and update is re-derived', () => {
    const { position, ...report } = auditExperiment(clean);
    assert.deepEqual(report, { ok: true, checkedSamples: 20, checkedUpdates: 5, firstDivergence: null });
    assert.equal(
      position,
      clean
        .filter((e) => e.type === 'PolicyUpdated')
        .at(-1)!
        .position.toString(),
    );
  });

  it('given a reward raised after the fact, when audited, then the update that used it is named', () => {
    const log = tamper(
      (e) => e.type === 'RewardReported',
      (e) => {
        if (e.type === 'RewardReported') e.data.reward += 0.25;
      },
      9,
    );
    const { ok, firstDivergence } = auditExperiment(log);
    assert.equal(ok, false);
    assert.equal(firstDivergence!.what, 'reward of evo-9 in PolicyUpdated v3');
  });

  it('given a reward changed everywhere with mean and baselines recomputed, when audited, then the population digest catches it', () => {
    const log = tamper(isUpdate(2), (e) => {
      if (e.type !== 'PolicyUpdated') return;
      const rewards = e.data.samples.map((s) => s.reward);
      rewards[1] = rewards[1]! + 0.125;
      e.data.samples[1]!.reward = rewards[1];
      e.data.meanReward = mean(rewards);
      e.data.baselineAfter = nextBaseline(e.data.baselineBefore, rewards, 0.95);
    });
    const trial = log.find((e) => e.type === 'RewardReported' && e.data.sampleId === 'evo-5')!;
    if (trial.type === 'RewardReported') trial.data.reward += 0.125;
    const { firstDivergence } = auditExperiment(log);
    assert.equal(firstDivergence!.what, 'paramsDigestAfter of PolicyUpdated v2');
  });

  it('given a mutant whose actions were edited, when audited, then that sample is named', () => {
    const log = tamper(
      (e) => e.type === 'ArchitectureSampled' && e.data.index === 13,
      (e) => {
        if (e.type === 'ArchitectureSampled') e.data.actions[7] = (e.data.actions[7]! + 1) % 13;
      },
    );
    assert.equal(auditExperiment(log).firstDivergence!.what, 'actions of sample 13');
  });
});
