import type { EventOfType, RecordedEvent } from '../events/event.ts';
import type { JsonValue } from '../events/json.ts';
import { createStrategy } from '../controller/create-strategy.ts';
import { controllerSetup } from '../controller/experiment-config.ts';
import type { SampledArchitecture, SearchStrategy } from '../controller/strategy.ts';

/** Where a replay first disagreed with the log. */
export interface Divergence {
  /** Global position of the event that disagreed (a string: positions are bigints). */
  position: string;
  eventType: string;
  /** What differed, e.g. `paramsDigestAfter of PolicyUpdated v3`. */
  what: string;
  expected: JsonValue;
  found: JsonValue;
}

export interface AuditReport {
  ok: boolean;
  checkedSamples: number;
  checkedUpdates: number;
  firstDivergence: Divergence | null;
  /** Global position of the last event the audit read ("0" before any): what it covers. */
  position: string;
}

class DivergenceFound extends Error {
  constructor(readonly divergence: Divergence) {
    super(divergence.what);
  }
}

/**
 * Re-derives an experiment's controller from its initial state and checks the log against
 * it, event by event (pure: the caller brings the events, in log order):
 * (a) every ArchitectureSampled is what its policy version draws with its seed, with the
 *     recorded actions, log-probability, entropy, genotype and cell hash;
 * (b) every PolicyUpdated follows the one before it, uses samples of the policy it updates
 *     with exactly the rewards reported for them, and reproduces its baseline, statistics
 *     and parameter digests.
 * Returns the first divergence, if any.
 */
export function auditExperiment(events: Iterable<RecordedEvent>): AuditReport {
  const auditor = new Auditor();
  for (const event of events) auditor.feed(event);
  return auditor.report();
}

/**
 * The audit as a fold that can be fed more events later: an audit of a running search goes
 * on from where it stopped instead of replaying every update again (incremental-audit.ts).
 * Samples of one policy version that arrive together are redrawn together (sampleBatch
 * draws exactly what sample() draws one by one, faster); they are checked in log order, so
 * the first divergence is the same as one by one.
 */
export class Auditor {
  private checkedSamples = 0;
  private checkedUpdates = 0;
  private strategy: SearchStrategy | null = null;
  private seed: number | null = null;
  private config: EventOfType<'ExperimentCreated'>['data']['config'] | null = null;
  private readonly samples = new Map<string, SampledArchitecture>();
  private readonly rewards = new Map<string, number>();
  private pendingSamples: Array<RecordedEvent<EventOfType<'ArchitectureSampled'>>> = [];
  private last: RecordedEvent | null = null;
  private divergence: Divergence | null = null;

  /** The last event fed (null before any): where a continuation must find the log unchanged. */
  get lastEvent(): RecordedEvent | null {
    return this.last;
  }

  feed(event: RecordedEvent): void {
    if (this.divergence) return;
    this.last = event;
    this.guard(event, () => {
      if (event.type === 'ArchitectureSampled') {
        const pending = this.pendingSamples[0];
        if (pending && pending.data.policyVersion !== event.data.policyVersion) this.flushSamples();
        this.pendingSamples.push(event);
        return;
      }
      this.flushSamples();
      this.apply(event);
    });
  }

  report(): AuditReport {
    if (!this.divergence && this.last) this.guard(this.last, () => this.flushSamples());
    const counts = { checkedSamples: this.checkedSamples, checkedUpdates: this.checkedUpdates };
    const position = this.last?.position.toString() ?? '0';
    if (this.divergence) return { ok: false, ...counts, firstDivergence: this.divergence, position };
    if (!this.strategy) {
      const none = { position: '0', eventType: 'ControllerInitialized', what: 'the experiment has a controller' };
      return { ok: false, ...counts, firstDivergence: { ...none, expected: 'ControllerInitialized', found: 'none' }, position };
    }
    return { ok: true, ...counts, firstDivergence: null, position };
  }

  /** Runs a step; a divergence or a failed replay becomes the audit's first divergence. */
  private guard(event: RecordedEvent, step: () => void): void {
    try {
      step();
    } catch (error) {
      this.divergence =
        error instanceof DivergenceFound
          ? error.divergence
          : {
              position: event.position.toString(),
              eventType: event.type,
              what: 'the replay failed',
              expected: 'a replayable event',
              found: (error as Error).message,
            };
    }
  }

  private flushSamples(): void {
    const batch = this.pendingSamples;
    if (batch.length === 0) return;
    this.pendingSamples = [];
    const current =
      this.strategy ?? diverge(batch[0]!, 'ControllerInitialized before the first sample', 'ControllerInitialized', 'none');
    const redrawn = batch.every((event) => event.data.policyVersion === current.policyVersion)
      ? current.sampleBatch(batch.map((event) => event.data.index))
      : null;
    batch.forEach((event, i) => this.checkSample(event, current, redrawn?.[i] ?? null));
  }

  private checkSample(
    event: RecordedEvent<EventOfType<'ArchitectureSampled'>>,
    current: SearchStrategy,
    drawn: SampledArchitecture | null,
  ): void {
    const { data } = event;
    same(event, `policyVersion of sample ${data.index}`, current.policyVersion, data.policyVersion);
    const redrawn = drawn ?? current.sample(data.index);
    same(event, `actions of sample ${data.index}`, redrawn.actions, data.actions);
    same(event, `logProb of sample ${data.index}`, redrawn.logProb, data.logProb);
    same(event, `entropy of sample ${data.index}`, redrawn.entropy, data.entropy);
    same(event, `genotype of sample ${data.index}`, redrawn.genotype, data.genotype);
    same(event, `cellHash of sample ${data.index}`, redrawn.cellHash, data.cellHash);
    if (this.samples.has(data.sampleId)) diverge(event, `sample ${data.sampleId} drawn once`, 'one ArchitectureSampled', 'two');
    this.samples.set(data.sampleId, redrawn);
    this.checkedSamples++;
  }

  private apply(event: RecordedEvent): void {
    switch (event.type) {
      case 'ExperimentCreated':
        this.seed = event.data.seed;
        this.config = event.data.config;
        return;
      case 'ControllerInitialized':
        return this.initialize(event);
      case 'RewardReported': {
        const { sampleId, reward } = event.data;
        if (!this.samples.has(sampleId))
          diverge(event, `a reward for a sample that was drawn`, 'an ArchitectureSampled before it', sampleId);
        // A trial reports once; a second report must agree with the first.
        if (this.rewards.has(sampleId)) same(event, `reward of ${sampleId} (reported again)`, this.rewards.get(sampleId), reward);
        this.rewards.set(sampleId, reward);
        return;
      }
      case 'PolicyUpdated':
        return this.update(event);
      default:
        return;
    }
  }

  private initialize(event: RecordedEvent<EventOfType<'ControllerInitialized'>>): void {
    if (this.seed === null || this.config === null)
      diverge(event, 'ExperimentCreated before ControllerInitialized', 'ExperimentCreated', 'none');
    let setup: ReturnType<typeof controllerSetup>;
    try {
      setup = controllerSetup(this.config!);
    } catch (error) {
      return diverge(event, 'a controller configuration the audit can rebuild', 'valid config', (error as Error).message);
    }
    same(event, 'strategy', setup.strategy, event.data.strategy);
    this.strategy = createStrategy(setup.strategy, this.seed!, setup.controller);
    same(event, 'paramsDigest of the initial controller', this.strategy.digest(), event.data.paramsDigest);
  }

  private update(event: RecordedEvent<EventOfType<'PolicyUpdated'>>): void {
    const current =
      this.strategy ?? diverge(event, 'ControllerInitialized before the first update', 'ControllerInitialized', 'none');
    const { data } = event;
    const label = `PolicyUpdated v${data.policyVersion}`;
    same(event, `policy version after ${current.policyVersion}`, current.policyVersion + 1, data.policyVersion);
    same(event, `paramsDigestBefore of ${label}`, current.digest(), data.paramsDigestBefore);
    const batch = data.samples.map(({ sampleId, reward }) => {
      const sample =
        this.samples.get(sampleId) ?? diverge(event, `sample ${sampleId} named by ${label}`, 'a drawn sample', 'never drawn');
      same(event, `policy version that drew ${sampleId}, used by ${label}`, current.policyVersion, sample.policyVersion);
      if (!this.rewards.has(sampleId))
        diverge(event, `reward of ${sampleId} reported before ${label}`, 'a RewardReported', 'none');
      same(event, `reward of ${sampleId} in ${label}`, this.rewards.get(sampleId), reward);
      return { sample, reward };
    });
    const update = current.update(batch);
    same(event, `meanReward of ${label}`, update.meanReward, data.meanReward);
    same(event, `baselineBefore of ${label}`, update.baselineBefore, data.baselineBefore);
    same(event, `baselineAfter of ${label}`, update.baselineAfter, data.baselineAfter);
    same(event, `stats of ${label}`, update.stats, data.stats);
    same(event, `paramsDigestAfter of ${label}`, update.paramsDigestAfter, data.paramsDigestAfter);
    this.checkedUpdates++;
  }
}

function diverge(event: RecordedEvent, what: string, expected: unknown, found: unknown): never {
  throw new DivergenceFound({
    position: event.position.toString(),
    eventType: event.type,
    what,
    expected: toJson(expected),
    found: toJson(found),
  });
}

function same(event: RecordedEvent, what: string, expected: unknown, found: unknown): void {
  if (JSON.stringify(expected) !== JSON.stringify(found)) diverge(event, what, expected, found);
}

function toJson(value: unknown): JsonValue {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as JsonValue);
}
