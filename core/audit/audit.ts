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
  let checkedSamples = 0;
  let checkedUpdates = 0;
  let strategy: SearchStrategy | null = null;
  let seed: number | null = null;
  let config: EventOfType<'ExperimentCreated'>['data']['config'] | null = null;
  const samples = new Map<string, SampledArchitecture>();
  const rewards = new Map<string, number>();
  let last: RecordedEvent | null = null;

  const diverge = (event: RecordedEvent, what: string, expected: unknown, found: unknown): never => {
    throw new DivergenceFound({
      position: event.position.toString(),
      eventType: event.type,
      what,
      expected: toJson(expected),
      found: toJson(found),
    });
  };
  const same = (event: RecordedEvent, what: string, expected: unknown, found: unknown) => {
    if (JSON.stringify(expected) !== JSON.stringify(found)) diverge(event, what, expected, found);
  };

  try {
    for (const event of events) {
      last = event;
      switch (event.type) {
        case 'ExperimentCreated':
          seed = event.data.seed;
          config = event.data.config;
          break;
        case 'ControllerInitialized': {
          if (seed === null || config === null)
            diverge(event, 'ExperimentCreated before ControllerInitialized', 'ExperimentCreated', 'none');
          let setup;
          try {
            setup = controllerSetup(config!);
          } catch (error) {
            diverge(event, 'a controller configuration the audit can rebuild', 'valid config', (error as Error).message);
          }
          same(event, 'strategy', setup!.strategy, event.data.strategy);
          strategy = createStrategy(setup!.strategy, seed!, setup!.controller);
          same(event, 'paramsDigest of the initial controller', strategy.digest(), event.data.paramsDigest);
          break;
        }
        case 'ArchitectureSampled': {
          const current =
            strategy ?? diverge(event, 'ControllerInitialized before the first sample', 'ControllerInitialized', 'none');
          const { data } = event;
          same(event, `policyVersion of sample ${data.index}`, current.policyVersion, data.policyVersion);
          const redrawn = current.sample(data.index);
          same(event, `actions of sample ${data.index}`, redrawn.actions, data.actions);
          same(event, `logProb of sample ${data.index}`, redrawn.logProb, data.logProb);
          same(event, `entropy of sample ${data.index}`, redrawn.entropy, data.entropy);
          same(event, `genotype of sample ${data.index}`, redrawn.genotype, data.genotype);
          same(event, `cellHash of sample ${data.index}`, redrawn.cellHash, data.cellHash);
          if (samples.has(data.sampleId)) diverge(event, `sample ${data.sampleId} drawn once`, 'one ArchitectureSampled', 'two');
          samples.set(data.sampleId, redrawn);
          checkedSamples++;
          break;
        }
        case 'RewardReported': {
          const { sampleId, reward } = event.data;
          if (!samples.has(sampleId))
            diverge(event, `a reward for a sample that was drawn`, 'an ArchitectureSampled before it', sampleId);
          // A trial reports once; a second report must agree with the first.
          if (rewards.has(sampleId)) same(event, `reward of ${sampleId} (reported again)`, rewards.get(sampleId), reward);
          rewards.set(sampleId, reward);
          break;
        }
        case 'PolicyUpdated': {
          const current =
            strategy ?? diverge(event, 'ControllerInitialized before the first update', 'ControllerInitialized', 'none');
          const { data } = event;
          const label = `PolicyUpdated v${data.policyVersion}`;
          same(event, `policy version after ${current.policyVersion}`, current.policyVersion + 1, data.policyVersion);
          same(event, `paramsDigestBefore of ${label}`, current.digest(), data.paramsDigestBefore);
          const batch = data.samples.map(({ sampleId, reward }) => {
            const sample =
              samples.get(sampleId) ?? diverge(event, `sample ${sampleId} named by ${label}`, 'a drawn sample', 'never drawn');
            same(event, `policy version that drew ${sampleId}, used by ${label}`, current.policyVersion, sample.policyVersion);
            if (!rewards.has(sampleId))
              diverge(event, `reward of ${sampleId} reported before ${label}`, 'a RewardReported', 'none');
            same(event, `reward of ${sampleId} in ${label}`, rewards.get(sampleId), reward);
            return { sample, reward };
          });
          const update = current.update(batch);
          same(event, `meanReward of ${label}`, update.meanReward, data.meanReward);
          same(event, `baselineBefore of ${label}`, update.baselineBefore, data.baselineBefore);
          same(event, `baselineAfter of ${label}`, update.baselineAfter, data.baselineAfter);
          same(event, `stats of ${label}`, update.stats, data.stats);
          same(event, `paramsDigestAfter of ${label}`, update.paramsDigestAfter, data.paramsDigestAfter);
          checkedUpdates++;
          break;
        }
        default:
          break;
      }
    }
  } catch (error) {
    if (error instanceof DivergenceFound) return { ok: false, checkedSamples, checkedUpdates, firstDivergence: error.divergence };
    if (last) {
      return {
        ok: false,
        checkedSamples,
        checkedUpdates,
        firstDivergence: {
          position: last.position.toString(),
          eventType: last.type,
          what: 'the replay failed',
          expected: 'a replayable event',
          found: (error as Error).message,
        },
      };
    }
    throw error;
  }
  if (!strategy) {
    return {
      ok: false,
      checkedSamples,
      checkedUpdates,
      firstDivergence: {
        position: '0',
        eventType: 'ControllerInitialized',
        what: 'the experiment has a controller',
        expected: 'ControllerInitialized',
        found: 'none',
      },
    };
  }
  return { ok: true, checkedSamples, checkedUpdates, firstDivergence: null };
}

function toJson(value: unknown): JsonValue {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as JsonValue);
}
