import { ACTION_COUNT, DECISIONS, decodeActions } from '../search-space/actions.ts';
import { BLOCKS_PER_CELL, CELL_NAMES, type CellName } from '../search-space/genotype.ts';
import { nextBaseline } from './baseline.ts';
import { evolutionSizes, type ControllerConfig, type EvolutionSizes } from './config.ts';
import { stateDigest } from './digest.ts';
import { seededUniform, type Uniform } from './prng.ts';
import { UNIFORM_LOG_PROB, uniformActions } from './random-search.ts';
import { assertCurrentBatch, sampledArchitecture } from './sample-record.ts';
import { updateRecord } from './update-record.ts';
import type {
  PolicyUpdate,
  PopulationMember,
  SampledArchitecture,
  ScoredSample,
  SearchStrategy,
  StrategySnapshot,
} from './strategy.ts';

export type MutationKind = 'hidden' | 'op';

/** One of Real et al.'s two mutations, applied to one action of the parent. */
export interface Mutation {
  cell: CellName;
  block: number;
  /** Which of the block's two pairwise combinations: its A side (inputA, opA) or its B side. */
  pair: 'A' | 'B';
  kind: MutationKind;
  /** Position of the changed decision among the 50 actions. */
  decision: number;
  from: number;
  to: number;
}

/** How a sample came about: uniformly at random (the initial population) or as a tournament winner's mutant. */
export type SampleOrigin =
  | { kind: 'random' }
  | {
      kind: 'mutation';
      /** Population positions (0 = oldest) drawn for the tournament, in draw order: distinct. */
      contestants: number[];
      /** The winner's population position. */
      parent: number;
      mutation: Mutation;
    };

const PAIRS = ['A', 'B'] as const;
const KINDS: readonly MutationKind[] = ['hidden', 'op'];

function decisionIndex(cell: CellName, block: number, field: string): number {
  const index = DECISIONS.findIndex((d) => d.cell === cell && d.block === block && d.field === field);
  if (index < 0) throw new Error(`no decision ${cell}/${block}/${field}`);
  return index;
}

/** Where each possible mutation lands among the actions: [cell][block][pair] → the input's and the op's position. */
const SITES = CELL_NAMES.map((cell) =>
  Array.from({ length: BLOCKS_PER_CELL }, (_, block) =>
    PAIRS.map((pair) => ({ hidden: decisionIndex(cell, block, `input${pair}`), op: decisionIndex(cell, block, `op${pair}`) })),
  ),
);

const pick = (uniform: Uniform, count: number): number => Math.floor(uniform() * count);

/**
 * Real et al.'s mutation: one cell (normal or reduction), one of its 5 blocks, one of the
 * block's two pairwise combinations, then either a hidden-state mutation (that side reads
 * another of the states 0..k+1 block k may read, so no loop can form) or an op mutation
 * (another of the 13 ops); the new value always differs from the old. Every choice is
 * uniform. The combine decision is not mutated (the paper's mutations change inputs and
 * ops): a child keeps its parent's, which goes back to the random initial population.
 * Returns the child's actions and log P(child | parent): the mutation is determined by the
 * one action that changed, so this product of choice probabilities is exactly that.
 */
export function mutate(parent: readonly number[], uniform: Uniform): { actions: number[]; mutation: Mutation; logProb: number } {
  const cellIndex = pick(uniform, CELL_NAMES.length);
  const block = pick(uniform, BLOCKS_PER_CELL);
  const pairIndex = pick(uniform, PAIRS.length);
  const kind = KINDS[pick(uniform, KINDS.length)]!;
  const decision = SITES[cellIndex]![block]![pairIndex]![kind];
  const choices = DECISIONS[decision]!.choices;
  const from = parent[decision]!;
  // One of the other choices-1 values, uniformly.
  const drawn = pick(uniform, choices - 1);
  const to = drawn >= from ? drawn + 1 : drawn;
  const actions = [...parent];
  actions[decision] = to;
  const logProb =
    -Math.log(CELL_NAMES.length) -
    Math.log(BLOCKS_PER_CELL) -
    Math.log(PAIRS.length) -
    Math.log(KINDS.length) -
    Math.log(choices - 1);
  return {
    actions,
    mutation: { cell: CELL_NAMES[cellIndex]!, block, pair: PAIRS[pairIndex]!, kind, decision, from, to },
    logProb,
  };
}

/**
 * A tournament: `size` distinct members drawn uniformly (a partial Fisher–Yates shuffle of
 * the positions, kept sparse so it costs O(size), not O(population)); the highest reward
 * wins, and a tie goes to the youngest (the most recently added), which is what ageing
 * favours anyway.
 */
export function tournament(
  rewards: readonly number[],
  size: number,
  uniform: Uniform,
): { contestants: number[]; winner: number } {
  const n = rewards.length;
  if (size < 1 || size > n) throw new RangeError(`a tournament of ${size} needs a population of at least ${size} (has ${n})`);
  const swapped = new Map<number, number>();
  const at = (i: number) => swapped.get(i) ?? i;
  const contestants: number[] = [];
  let winner = -1;
  for (let i = 0; i < size; i++) {
    const j = i + pick(uniform, n - i);
    const chosen = at(j);
    swapped.set(j, at(i));
    contestants.push(chosen);
    if (winner < 0 || rewards[chosen]! > rewards[winner]! || (rewards[chosen] === rewards[winner] && chosen > winner))
      winner = chosen;
  }
  return { contestants, winner };
}

/**
 * Regularized (ageing) evolution, Real et al., "Regularized Evolution for Image Classifier
 * Architecture Search" (AAAI 2019), in batched form so that batch k is drawn by policy
 * version k like every other strategy. The state is a FIFO population of at most P scored
 * architectures. While it holds fewer than P, a sample is uniformly random (the paper's
 * random initial population; drawn exactly as random search draws it). Then each sample is
 * a tournament of S distinct members whose winner is mutated once. An update appends the
 * batch's scored samples in order and drops the oldest members beyond P — the oldest, not
 * the worst: that is the regularization. All samples of one version see the same population,
 * and sample i of version v uses only the generator seeded with (seed, v, i), so the audit
 * can redraw any sample on its own.
 *
 * logProb is the log-probability of the draw as generated: for a random member the uniform
 * architecture's, for a mutant log P(child | parent) (mutate). The tournament is not in it:
 * which parent wins depends on rewards, and the parent is not part of the record. entropy,
 * as for the LSTM, is the sum of the entropies of the choice distributions the draw went
 * through; every choice here is uniform, so it equals -logProb. Neither feeds an update
 * (evolution has no gradient); they are recorded so that ArchitectureSampled reads alike and
 * the audit can check them.
 */
export class EvolutionStrategy implements SearchStrategy {
  readonly name = 'evolution';
  private readonly sizes: EvolutionSizes;

  private constructor(
    private readonly seed: number,
    private readonly config: ControllerConfig,
    private population: PopulationMember[],
    private version: number,
    private baseline: number | null,
  ) {
    this.sizes = evolutionSizes(config);
    if (this.sizes.tournamentSize > this.sizes.populationSize) {
      throw new RangeError(
        `tournamentSize ${this.sizes.tournamentSize} is larger than populationSize ${this.sizes.populationSize}`,
      );
    }
  }

  static create(seed: number, config: ControllerConfig): EvolutionStrategy {
    return new EvolutionStrategy(seed, config, [], 0, null);
  }

  static restore(snapshot: StrategySnapshot): EvolutionStrategy {
    if (snapshot.strategy !== 'evolution') throw new TypeError(`a ${snapshot.strategy} snapshot is not an evolution snapshot`);
    const population = (snapshot.population ?? []).map((member, i) => checkedMember(member, `population[${i}]`));
    const { populationSize } = evolutionSizes(snapshot.config);
    if (population.length > populationSize)
      throw new RangeError(`population holds ${population.length} members, more than populationSize ${populationSize}`);
    return new EvolutionStrategy(snapshot.seed, snapshot.config, population, snapshot.policyVersion, snapshot.baseline);
  }

  get policyVersion(): number {
    return this.version;
  }

  /** P and S in force (the configured values or the batch-scaled defaults). */
  get settings(): EvolutionSizes {
    return { ...this.sizes };
  }

  /** The population, oldest first (copies). */
  get members(): PopulationMember[] {
    return this.population.map(copyMember);
  }

  sample(index: number): SampledArchitecture {
    return this.draw(index).sample;
  }

  sampleBatch(indices: readonly number[]): SampledArchitecture[] {
    return indices.map((index) => this.sample(index));
  }

  /** A sample and how it came about (for tests and for explaining a search). */
  draw(index: number): { sample: SampledArchitecture; origin: SampleOrigin } {
    const uniform = seededUniform(this.seed, 'sample', this.version, index);
    if (this.population.length < this.sizes.populationSize) {
      const sample = sampledArchitecture(index, this.version, uniformActions(uniform), UNIFORM_LOG_PROB, -UNIFORM_LOG_PROB);
      return { sample, origin: { kind: 'random' } };
    }
    const rewards = this.population.map((member) => member.reward);
    const { contestants, winner } = tournament(rewards, this.sizes.tournamentSize, uniform);
    const { actions, mutation, logProb } = mutate(this.population[winner]!.actions, uniform);
    return {
      sample: sampledArchitecture(index, this.version, actions, logProb, -logProb),
      origin: { kind: 'mutation', contestants, parent: winner, mutation },
    };
  }

  update(batch: readonly ScoredSample[]): PolicyUpdate {
    assertCurrentBatch(batch, this.version);
    const before = this.digest();
    for (const { sample, reward } of batch) this.population.push({ actions: [...sample.actions], reward });
    // Ageing: the oldest leave, whatever their reward.
    const excess = this.population.length - this.sizes.populationSize;
    if (excess > 0) this.population.splice(0, excess);
    const rewards = batch.map((scored) => scored.reward);
    const baselineBefore = this.baseline;
    this.baseline = nextBaseline(baselineBefore, rewards, this.config.baselineDecay);
    this.version++;
    return updateRecord(this.version, rewards, { before: baselineBefore, after: this.baseline }, null, {
      before,
      after: this.digest(),
    });
  }

  /** Over the name, the population (its size, then each member's actions and reward, oldest first), the baseline and the version. */
  digest(): string {
    const members = new Float64Array(1 + this.population.length * (ACTION_COUNT + 1));
    members[0] = this.population.length;
    let offset = 1;
    for (const { actions, reward } of this.population) {
      members.set(actions, offset);
      members[offset + ACTION_COUNT] = reward;
      offset += ACTION_COUNT + 1;
    }
    return stateDigest([this.name, members, this.baseline, this.version]);
  }

  snapshot(): StrategySnapshot {
    return {
      strategy: 'evolution',
      seed: this.seed,
      config: this.config,
      policyVersion: this.version,
      baseline: this.baseline,
      population: this.population.map(copyMember),
    };
  }
}

function copyMember(member: PopulationMember): PopulationMember {
  return { actions: [...member.actions], reward: member.reward };
}

function checkedMember(member: PopulationMember, what: string): PopulationMember {
  if (!Array.isArray(member?.actions))
    throw new RangeError(`${what}.actions must be an array of ${ACTION_COUNT} actions (got ${JSON.stringify(member?.actions)})`);
  try {
    decodeActions(member.actions);
  } catch (error) {
    throw new RangeError(`${what}: ${(error as Error).message}`);
  }
  if (typeof member.reward !== 'number' || !Number.isFinite(member.reward))
    throw new RangeError(`${what}.reward must be a finite number (got ${JSON.stringify(member.reward)})`);
  return copyMember(member);
}
