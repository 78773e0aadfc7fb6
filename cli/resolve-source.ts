import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { RecordedEvent } from '../core/events/event.ts';
import { experimentStream, transferStream, TRIAL_STREAM_PREFIX } from '../core/events/streams.ts';
import type { Genotype } from '../core/search-space/genotype.ts';
import type { EventStore } from '../core/store/port.ts';
import { loadGenotype } from './commands/genotype.ts';

/** Where a genotype came from, as TransferRequested records it, and the genotype. */
export interface GenotypeSource {
  /** `nasnet-a`, the file as given, or `<experimentId>#<sampleId>` (also for `#best`: the sample it chose). */
  source: string;
  genotype: Genotype;
  /** The reward of a sample from a search, null when it has none (or the source is not a sample). */
  reward: number | null;
}

export interface SampleReference {
  experimentId: string;
  /** `best`, a sample id, or a sample index. */
  sample: string;
}

/**
 * `<experimentId>#best` or `<experimentId>#<sampleId>`. An existing file wins, so a genotype
 * file whose name contains `#` still loads.
 */
export function parseSampleReference(value: string): SampleReference | null {
  const hash = value.lastIndexOf('#');
  if (hash <= 0 || hash === value.length - 1 || existsSync(value)) return null;
  return { experimentId: value.slice(0, hash), sample: value.slice(hash + 1) };
}

type Sampled = Extract<RecordedEvent, { type: 'ArchitectureSampled' }>;

/**
 * Resolves `--genotype`: `nasnet-a`, a JSON file, or a sample of an experiment in the store
 * (opened only for a sample, so a bad file never creates a store).
 * `#best` is the sample with the highest reward that was trained or reused (a failure's
 * reward is not a measurement), ties going to the lowest index.
 */
export async function resolveGenotypeSource(
  value: string,
  openStore: () => Promise<EventStore>,
  flag = '--genotype',
): Promise<GenotypeSource> {
  const reference = parseSampleReference(value);
  if (!reference) return { source: value, genotype: await loadGenotype(value), reward: null };
  const fail = (reason: string) => new Error(`${flag} ${JSON.stringify(value)}: ${reason}`);
  const { experimentId, sample } = reference;
  let stream: string;
  try {
    stream = experimentStream(experimentId);
  } catch (error) {
    throw fail((error as Error).message);
  }
  const store = await openStore();
  const { exists, events } = await store.readStream(stream);
  if (!exists) throw fail(`no experiment ${JSON.stringify(experimentId)} in the store`);
  const samples = events.filter((event): event is Sampled => event.type === 'ArchitectureSampled');
  const rewards = await trialRewards(store, experimentId);

  if (sample === 'best') {
    let best: Sampled | null = null;
    for (const event of samples) {
      const reward = rewards.get(event.data.sampleId);
      if (reward === undefined) continue;
      const bestReward = best ? rewards.get(best.data.sampleId)! : -Infinity;
      if (reward > bestReward || (reward === bestReward && best && event.data.index < best.data.index)) best = event;
    }
    if (!best) throw fail(`experiment ${JSON.stringify(experimentId)} has no trained sample yet (${samples.length} sampled)`);
    return fromSample(best, rewards);
  }
  const chosen =
    samples.find((event) => event.data.sampleId === sample) ??
    (/^\d+$/.test(sample) ? samples.find((event) => event.data.index === Number(sample)) : undefined);
  if (!chosen)
    throw fail(`experiment ${JSON.stringify(experimentId)} has no sample ${JSON.stringify(sample)} (${samples.length} sampled)`);
  return fromSample(chosen, rewards);
}

function fromSample(event: Sampled, rewards: ReadonlyMap<string, number>): GenotypeSource {
  return {
    source: `${event.data.experimentId}#${event.data.sampleId}`,
    genotype: event.data.genotype,
    reward: rewards.get(event.data.sampleId) ?? null,
  };
}

/**
 * Each sample's last trained or reused reward, from one filtered pass over the log rather than
 * one read per trial stream. Sample ids are `<experimentId>-<index>`, so the prefix also matches
 * experiments whose id extends this one (`exp` and `exp-2`); the data's experimentId settles it.
 */
async function trialRewards(store: EventStore, experimentId: string): Promise<Map<string, number>> {
  const rewards = new Map<string, number>();
  const filter = { types: ['RewardReported'], streamPrefixes: [`${TRIAL_STREAM_PREFIX}${experimentId}-`] };
  for await (const event of store.readAll({ filter })) {
    if (event.type !== 'RewardReported' || event.data.experimentId !== experimentId) continue;
    if (event.data.source === 'failure') rewards.delete(event.data.sampleId);
    else rewards.set(event.data.sampleId, event.data.reward);
  }
  return rewards;
}

/** `t-<yyyymmdd-hhmmss>-<4 hex>` in UTC: sortable by time, unique enough for a person's commands. */
export function newTransferId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `t-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Checks a `--transfer-id` before anything is written; the error names the flag and the value. */
export function checkTransferId(transferId: string): string {
  try {
    return transferStream(transferId);
  } catch (error) {
    throw new Error(`--transfer-id ${JSON.stringify(transferId)}: ${(error as Error).message}`);
  }
}
