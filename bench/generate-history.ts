/**
 * A large, valid search history for benchmarks: several experiments, written through the
 * real store (every event validated against the catalogue), then projected into the read
 * models by the real projector.
 *
 *   node --import tsx bench/generate-history.ts --events 1000000 --store sqlite:.nasnet/bench-1m.db [--experiments 4] [--force]
 *
 * Prints a JSON summary; progress goes to stderr. Also importable (generateHistory).
 *
 * What the log holds, per experiment (random search, batches of 20, in the order the
 * runtime writes it): ExperimentCreated + ControllerInitialized, then per batch
 * ArchitectureSampled ×20 → the batch's trial streams → PolicyUpdated, and
 * ExperimentCompleted. Experiments interleave batch by batch, as concurrent searches do.
 * Trials: most train (TrialClaimed → TrainingProgressed × epochs → TrainingCompleted →
 * RewardReported); some are retried after a retryable failure, taken over after a lost
 * lease, fail for good (failure reward), or reuse an earlier sample's reward. The last
 * experiment stays running: its final batch is partly trained, partly claimed, partly
 * waiting.
 *
 * Architectures are drawn by the real RandomSearchStrategy (~9k/s), so sample i of policy
 * version v is what that strategy draws, and PolicyUpdated digests are the strategy's own —
 * except for the reused samples, which repeat an earlier sample's cell so that reuse has
 * something to reuse (random search over this space never repeats a cell by chance). An
 * audit therefore diverges at an experiment's first reused sample; the bench does not audit.
 */
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { createStrategy } from '../core/controller/create-strategy.ts';
import { architectureSampled, controllerInitialized, policyUpdated } from '../core/events/experiment-events.ts';
import { seededUniform } from '../core/controller/prng.ts';
import type { SampledArchitecture, SearchStrategy } from '../core/controller/strategy.ts';
import type { EventMetadata, NasnetEvent } from '../core/events/event.ts';
import { deterministicEventId } from '../core/events/ids.ts';
import { eventMetadata } from '../core/events/metadata.ts';
import { experimentStream, sampleId as sampleIdOf, trialStream } from '../core/events/streams.ts';
import { catchUp, openReadModels, readCheckpoint } from '../core/projections/sqlite-projector.ts';
import { parseStoreAddress } from '../core/store/address.ts';
import { openStore } from '../core/store/open-store.ts';
import type { EventStore, ExpectedRevision } from '../core/store/port.ts';
import { DEFAULT_TRIALS, searchConfigJson, validateSearchConfig } from '../core/runtime/search-config.ts';

export interface GenerateOptions {
  /** About how many events to write; the plan rounds up to whole batches (the summary has the exact count). */
  events: number;
  experiments?: number;
  epochs?: number;
  batchSize?: number;
  seed?: number;
  /** Build the read models after appending (default true). */
  project?: boolean;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

export interface HistorySummary {
  store: string;
  events: number;
  head: string;
  experiments: Array<{ id: string; samples: number; status: 'completed' | 'running' }>;
  samples: number;
  trials: { trained: number; retried: number; takenOver: number; failed: number; reused: number };
  appendSeconds: number;
  appendEventsPerSec: number;
  projectionSeconds: number | null;
  projectionEventsPerSec: number | null;
  fileBytes: number;
  generatedAt: string;
}

/** Written next to the database when generation and projection both finished: what the bench trusts as complete. */
export function summaryPath(dbPath: string): string {
  return `${dbPath}.history.json`;
}

export async function readHistorySummary(dbPath: string): Promise<HistorySummary | null> {
  try {
    return JSON.parse(await readFile(summaryPath(dbPath), 'utf8')) as HistorySummary;
  } catch {
    return null;
  }
}

type Scenario = 'trained' | 'retried' | 'takenOver' | 'failedNaN' | 'failedExhausted' | 'reused';

/**
 * Shares of trial outcomes; the rest train at the first attempt. Reuse needs an earlier
 * trained sample, so the first batch of an experiment never reuses.
 */
const SHARES: ReadonlyArray<[Scenario, number]> = [
  ['reused', 0.05],
  ['retried', 0.04],
  ['takenOver', 0.01],
  ['failedNaN', 0.01],
  ['failedExhausted', 0.005],
];

/** Events one sample brings (its ArchitectureSampled included), on average, for planning. */
function expectedEventsPerSample(epochs: number, batchSize: number): number {
  const partial = (epochs - 1) / 2; // epochs before a failure or a lost lease: 0 … epochs-1
  const perScenario: Record<Scenario, number> = {
    trained: epochs + 4,
    retried: epochs + partial + 6,
    takenOver: epochs + partial + 5,
    failedNaN: partial + 4,
    failedExhausted: 3 * partial + 8,
    reused: 2,
  };
  let rest = 1;
  let sum = 0;
  for (const [scenario, share] of SHARES) {
    sum += share * perScenario[scenario];
    rest -= share;
  }
  return sum + rest * perScenario.trained + 1 / batchSize;
}

interface Rewarded {
  sample: SampledArchitecture;
  reward: number;
}

/** A validation split of 378 images: accuracies are multiples of 1/378, so ties happen as in real runs. */
const VALIDATION_IMAGES = 378;

/** A cell's accuracy: a fixed function of its hash, so the same cell always scores the same. */
function accuracyOf(cellHash: string): number {
  const u = parseInt(cellHash.slice(0, 8), 16) / 2 ** 32;
  return Math.round((0.45 + 0.45 * Math.sqrt(u)) * VALIDATION_IMAGES) / VALIDATION_IMAGES;
}

/** Big batched appends, issued without waiting: the store runs them in call order, so the log order is the call order. */
class Appender {
  private readonly inFlight: Array<Promise<unknown>> = [];
  private failure: unknown = null;
  events = 0;
  appends = 0;

  constructor(
    private readonly store: EventStore,
    private readonly depth = 64,
  ) {}

  async append(stream: string, events: NasnetEvent[], expected: ExpectedRevision): Promise<void> {
    if (this.failure) throw this.failure;
    const pending = this.store.append(stream, events, expected).catch((error: unknown) => {
      this.failure ??= error;
    });
    this.inFlight.push(pending);
    this.events += events.length;
    this.appends++;
    // Bounded, so memory stays flat however long the history is.
    if (this.inFlight.length >= this.depth) await this.inFlight.shift();
  }

  async drain(): Promise<void> {
    await Promise.all(this.inFlight.splice(0));
    if (this.failure) throw this.failure;
  }
}

interface ExperimentPlan {
  id: string;
  batches: number;
  running: boolean;
}

class Clock {
  /** Simulated time: the history spans days, as a long search does, instead of the minute it takes to write. */
  private ms = Date.UTC(2025, 0, 6, 9, 0, 0);
  tick(seconds: number): Date {
    this.ms += seconds * 1000;
    return new Date(this.ms);
  }
}

export async function generateHistory(address: string, options: GenerateOptions): Promise<HistorySummary> {
  const log = options.log ?? (() => undefined);
  const experimentCount = options.experiments ?? 4;
  const epochs = options.epochs ?? 5;
  const batchSize = options.batchSize ?? 20;
  const seed = options.seed ?? 2018;
  if (!Number.isSafeInteger(options.events) || options.events < 1000)
    throw new RangeError(`events must be a whole number >= 1000 (got ${options.events})`);
  if (!Number.isSafeInteger(experimentCount) || experimentCount < 1 || experimentCount > 100) {
    throw new RangeError(`experiments must be a whole number from 1 to 100 (got ${experimentCount})`);
  }

  // Harmonic shares (1, 1/2, 1/3, …): one experiment clearly the largest, the others smaller.
  const weights = Array.from({ length: experimentCount }, (_, i) => 1 / (i + 1));
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const perBatch = expectedEventsPerSample(epochs, batchSize) * batchSize;
  const totalBatches = Math.ceil((options.events * 1.005) / perBatch);
  const plans: ExperimentPlan[] = weights.map((w, i) => ({
    id: `bench-e${i + 1}`,
    batches: Math.max(2, Math.round((totalBatches * w) / weightSum)),
    running: experimentCount > 1 && i === experimentCount - 1,
  }));

  const store = await openStore(address);
  try {
    if ((await store.headPosition()) !== 0n)
      throw new Error(`the store ${address} is not empty: generate into a new file (or pass --force)`);
    const appender = new Appender(store);
    const clock = new Clock();
    const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '-') || 'host';
    const controllerWriter = `${host}/4100/controller`;
    const workers = [1, 2, 3, 4].map((w) => `${host}/${4200 + w}/w${w}`);
    const trialCounts = { trained: 0, retried: 0, takenOver: 0, failed: 0, reused: 0 };
    const started = performance.now();
    let lastLog = started;

    interface ExperimentRun {
      plan: ExperimentPlan;
      strategy: SearchStrategy;
      revision: bigint;
      batch: number;
      /** Trained samples of earlier batches: what a reused sample may point at. Bounded. */
      trained: Rewarded[];
      completed: number;
      failed: number;
      best: { sampleId: string; index: number; reward: number } | null;
    }

    const runs: ExperimentRun[] = [];
    for (const [i, plan] of plans.entries()) {
      const config = validateSearchConfig({
        preset: 'bench',
        strategy: 'random',
        controller: { batchSize },
        samples: plan.batches * batchSize,
        trainer: 'tfjs',
        trainerOptions: {},
        dataset: 'fashion-mnist-mini',
        network: { N: 1, filters: 8 },
        epochs,
        training: { optimizer: 'adam', learningRate: 0.01, batchSize: 32, augment: false, validationFraction: 0.05 },
        reuse: true,
        trials: { ...DEFAULT_TRIALS },
      });
      const strategy = createStrategy('random', seed + i, { batchSize });
      const meta = eventMetadata(plan.id, controllerWriter, null, clock.tick(1));
      await appender.append(
        experimentStream(plan.id),
        [
          {
            id: deterministicEventId(plan.id, 'ExperimentCreated'),
            type: 'ExperimentCreated',
            version: 1,
            data: { experimentId: plan.id, config: searchConfigJson(config), seed: seed + i, codeVersion: 'bench' },
            metadata: meta,
          },
          controllerInitialized(plan.id, strategy, meta),
        ],
        'no_stream',
      );
      runs.push({ plan, strategy, revision: 1n, batch: 0, trained: [], completed: 0, failed: 0, best: null });
    }

    const meta = (experimentId: string, writer: string, seconds: number): EventMetadata =>
      eventMetadata(experimentId, writer, null, clock.tick(seconds));

    /** One sample's trial stream, as the runtime would have written it; returns the reward. */
    const trialEvents = (
      run: ExperimentRun,
      sample: SampledArchitecture,
      scenario: Scenario,
      u: () => number,
      reusedFrom: Rewarded | null,
    ) => {
      const experimentId = run.plan.id;
      const sid = sampleIdOf(experimentId, sample.index);
      const events: NasnetEvent[] = [];
      const worker = () => workers[Math.floor(u() * workers.length)]!;
      const claim = (attempt: number, workerId: string) => {
        const m = meta(experimentId, workerId, 2);
        events.push({
          id: deterministicEventId(sid, 'TrialClaimed', attempt, workerId),
          type: 'TrialClaimed',
          version: 1,
          data: {
            experimentId,
            sampleId: sid,
            workerId,
            plugin: 'tfjs',
            backend: 'wasm',
            leaseDeadline: new Date(Date.parse(m.timestamp) + DEFAULT_TRIALS.leaseSeconds * 1000).toISOString(),
            attempt,
          },
          metadata: m,
        });
      };
      const accuracy = accuracyOf(sample.cellHash);
      const progress = (attempt: number, workerId: string, count: number) => {
        for (let epoch = 1; epoch <= count; epoch++) {
          const seen = epoch / epochs;
          events.push({
            id: deterministicEventId(sid, 'TrainingProgressed', attempt, epoch),
            type: 'TrainingProgressed',
            version: 1,
            data: {
              experimentId,
              sampleId: sid,
              attempt,
              epoch,
              epochs,
              metrics: {
                loss: +(2.3 * (1 - 0.6 * seen) + 0.05 * u()).toFixed(4),
                accuracy: +(0.1 + (accuracy - 0.1) * seen).toFixed(4),
              },
            },
            metadata: meta(experimentId, workerId, 30),
          });
        }
      };
      const complete = (attempt: number, workerId: string) => {
        events.push({
          id: deterministicEventId(sid, 'TrainingCompleted', attempt),
          type: 'TrainingCompleted',
          version: 1,
          data: {
            experimentId,
            sampleId: sid,
            attempt,
            validationAccuracy: accuracy,
            testAccuracy: null,
            loss: +(0.9 - 0.5 * accuracy).toFixed(4),
            params: 20_000 + (parseInt(sample.cellHash.slice(8, 12), 16) % 60_000),
            multAdds: 2_000_000 + (parseInt(sample.cellHash.slice(12, 16), 16) % 9_000_000),
            seconds: +(epochs * (25 + 10 * u())).toFixed(2),
            imagesPerSec: +(180 + 60 * u()).toFixed(1),
            backend: 'wasm',
          },
          metadata: meta(experimentId, workerId, 5),
        });
      };
      const fail = (attempt: number, workerId: string, reason: string, retryable: boolean) => {
        events.push({
          id: deterministicEventId(sid, 'TrainingFailed', attempt),
          type: 'TrainingFailed',
          version: 1,
          data: { experimentId, sampleId: sid, attempt, reason, retryable },
          metadata: meta(experimentId, workerId, 1),
        });
      };
      const reward = (value: number, source: 'trained' | 'reused' | 'failure', from: string | null, workerId: string) => {
        events.push({
          id: deterministicEventId(sid, 'RewardReported'),
          type: 'RewardReported',
          version: 1,
          data: { experimentId, sampleId: sid, reward: value, source, reusedFromSampleId: from },
          metadata: meta(experimentId, workerId, 0.1),
        });
      };
      const partial = () => Math.floor(u() * epochs);

      let value: number;
      switch (scenario) {
        case 'reused': {
          const from = reusedFrom!;
          value = from.reward;
          reward(value, 'reused', sampleIdOf(experimentId, from.sample.index), worker());
          break;
        }
        case 'trained': {
          const w = worker();
          claim(1, w);
          progress(1, w, epochs);
          complete(1, w);
          value = accuracy;
          reward(value, 'trained', null, w);
          break;
        }
        case 'retried': {
          const first = worker();
          claim(1, first);
          progress(1, first, partial());
          fail(1, first, 'worker thread exited unexpectedly (code 1)', true);
          const second = worker();
          claim(2, second);
          progress(2, second, epochs);
          complete(2, second);
          value = accuracy;
          reward(value, 'trained', null, second);
          break;
        }
        case 'takenOver': {
          // The first holder went silent; after its lease another worker claims the next attempt.
          const first = worker();
          claim(1, first);
          progress(1, first, partial());
          clock.tick(DEFAULT_TRIALS.leaseSeconds);
          const second = workers[(workers.indexOf(first) + 1) % workers.length]!;
          claim(2, second);
          progress(2, second, epochs);
          complete(2, second);
          value = accuracy;
          reward(value, 'trained', null, second);
          break;
        }
        case 'failedNaN': {
          const w = worker();
          claim(1, w);
          progress(1, w, partial());
          fail(1, w, 'loss became NaN at epoch 2', false);
          value = DEFAULT_TRIALS.failureReward;
          reward(value, 'failure', null, w);
          break;
        }
        case 'failedExhausted': {
          let w = '';
          for (let attempt = 1; attempt <= DEFAULT_TRIALS.maxAttempts; attempt++) {
            w = worker();
            claim(attempt, w);
            progress(attempt, w, partial());
            fail(attempt, w, 'out of memory allocating 512 MB for a conv2d gradient', true);
          }
          value = DEFAULT_TRIALS.failureReward;
          reward(value, 'failure', null, w);
          break;
        }
      }
      return { events, reward: value };
    };

    const pickScenario = (run: ExperimentRun, u: () => number): Scenario => {
      const x = u();
      let edge = 0;
      for (const [scenario, share] of SHARES) {
        edge += share;
        if (x < edge) return scenario === 'reused' && run.trained.length === 0 ? 'trained' : scenario;
      }
      return 'trained';
    };

    /** Draws batch k, runs its trials; `upTo` < batchSize leaves the rest of the batch waiting (a running experiment). */
    const runBatch = async (run: ExperimentRun, final: boolean): Promise<void> => {
      const { plan, strategy } = run;
      const indices = Array.from({ length: batchSize }, (_, i) => run.batch * batchSize + i);
      const drawn = strategy.sampleBatch(indices);
      const choices = drawn.map((sample) => {
        const u = seededUniform(seed, 'history', plan.id, sample.index);
        const scenario = pickScenario(run, u);
        let reusedFrom: Rewarded | null = null;
        let record = sample;
        if (scenario === 'reused') {
          reusedFrom = run.trained[Math.floor(u() * run.trained.length)]!;
          // The controller drew an already-trained cell again: same decisions, this index and version.
          record = {
            ...sample,
            actions: reusedFrom.sample.actions,
            genotype: reusedFrom.sample.genotype,
            cellHash: reusedFrom.sample.cellHash,
          };
        }
        return { sample: record, scenario, u, reusedFrom };
      });
      const sampledMeta = meta(plan.id, controllerWriter, 1);
      const sampledEvents = choices.map(({ sample }) => architectureSampled(plan.id, sample, sampledMeta));
      await appender.append(experimentStream(plan.id), sampledEvents, run.revision);
      run.revision += BigInt(sampledEvents.length);

      if (final && plan.running) {
        // A search in flight: half the batch rewarded, some training, some claimed, the rest waiting for a worker.
        for (const [i, { sample }] of choices.entries()) {
          const sid = sampleIdOf(plan.id, sample.index);
          const w = workers[i % workers.length]!;
          if (i < batchSize / 2) {
            const { events } = trialEvents(run, sample, 'trained', choices[i]!.u, null);
            await appender.append(trialStream(sid), events, 'no_stream');
            run.completed++;
            trialCounts.trained++;
          } else if (i < (batchSize * 3) / 4) {
            const m = meta(plan.id, w, 2);
            const events: NasnetEvent[] = [
              {
                id: deterministicEventId(sid, 'TrialClaimed', 1, w),
                type: 'TrialClaimed',
                version: 1,
                data: {
                  experimentId: plan.id,
                  sampleId: sid,
                  workerId: w,
                  plugin: 'tfjs',
                  backend: 'wasm',
                  leaseDeadline: new Date(Date.parse(m.timestamp) + DEFAULT_TRIALS.leaseSeconds * 1000).toISOString(),
                  attempt: 1,
                },
                metadata: m,
              },
            ];
            if (i % 2 === 0) {
              events.push({
                id: deterministicEventId(sid, 'TrainingProgressed', 1, 1),
                type: 'TrainingProgressed',
                version: 1,
                data: {
                  experimentId: plan.id,
                  sampleId: sid,
                  attempt: 1,
                  epoch: 1,
                  epochs,
                  metrics: { loss: 1.9, accuracy: 0.31 },
                },
                metadata: meta(plan.id, w, 30),
              });
            }
            await appender.append(trialStream(sid), events, 'no_stream');
          }
        }
        run.batch++;
        return;
      }

      const scored: Rewarded[] = [];
      for (const { sample, scenario, u, reusedFrom } of choices) {
        const { events, reward } = trialEvents(run, sample, scenario, u, reusedFrom);
        await appender.append(trialStream(sampleIdOf(plan.id, sample.index)), events, 'no_stream');
        scored.push({ sample, reward });
        const failed = scenario === 'failedNaN' || scenario === 'failedExhausted';
        if (failed) {
          run.failed++;
          trialCounts.failed++;
        } else {
          run.completed++;
          trialCounts[scenario]++;
          const best = run.best;
          if (!best || reward > best.reward || (reward === best.reward && sample.index < best.index)) {
            run.best = { sampleId: sampleIdOf(plan.id, sample.index), index: sample.index, reward };
          }
        }
      }
      const update = strategy.update(scored.map(({ sample, reward }) => ({ sample, reward })));
      const named = scored.map(({ sample, reward }) => ({ sampleId: sampleIdOf(plan.id, sample.index), reward }));
      await appender.append(
        experimentStream(plan.id),
        [policyUpdated(plan.id, update, named, meta(plan.id, controllerWriter, 0.5))],
        run.revision,
      );
      run.revision += 1n;
      for (const entry of scored) {
        const trainedHere = choices.find((c) => c.sample === entry.sample)!.scenario;
        if (trainedHere === 'trained' || trainedHere === 'retried' || trainedHere === 'takenOver') {
          if (run.trained.length < 4096) run.trained.push(entry);
          else run.trained[Math.floor(seededUniform(seed, 'slot', plan.id, entry.sample.index)() * 4096)] = entry;
        }
      }
      run.batch++;
    };

    // Batch by batch, always advancing the experiment furthest behind its share: concurrent searches.
    for (;;) {
      let next: ExperimentRun | null = null;
      for (const run of runs) {
        if (run.batch >= run.plan.batches) continue;
        if (!next || run.batch / run.plan.batches < next.batch / next.plan.batches) next = run;
      }
      if (!next) break;
      const final = next.batch === next.plan.batches - 1;
      await runBatch(next, final);
      if (final && !next.plan.running) {
        const samples = next.batch * batchSize;
        await appender.append(
          experimentStream(next.plan.id),
          [
            {
              id: deterministicEventId(next.plan.id, 'ExperimentCompleted'),
              type: 'ExperimentCompleted',
              version: 1,
              data: {
                experimentId: next.plan.id,
                samples,
                completed: next.completed,
                failed: next.failed,
                bestSampleId: next.best?.sampleId ?? null,
                bestReward: next.best?.reward ?? null,
              },
              metadata: meta(next.plan.id, controllerWriter, 1),
            },
          ],
          next.revision,
        );
        next.revision += 1n;
      }
      const now = performance.now();
      if (now - lastLog > 5000) {
        lastLog = now;
        const seconds = (now - started) / 1000;
        log(
          `appended ${appender.events} events (${Math.round(appender.events / seconds)}/s, ${appender.appends} appends) in ${seconds.toFixed(0)} s`,
        );
      }
    }
    await appender.drain();
    const appendSeconds = (performance.now() - started) / 1000;
    const head = await store.headPosition();
    const events = Number(head);
    log(
      `appended ${events} events in ${appendSeconds.toFixed(1)} s (${Math.round(events / appendSeconds)}/s, ${appender.appends} appends)`,
    );

    let projectionSeconds: number | null = null;
    const parsed = parseStoreAddress(address);
    if ((options.project ?? true) && parsed.kind === 'sqlite') {
      projectionSeconds = await projectAll(store, parsed.path, log);
    }
    await store.close();

    const summary: HistorySummary = {
      store: address,
      events,
      head: head.toString(),
      experiments: runs.map((run) => ({
        id: run.plan.id,
        samples: run.batch * batchSize,
        status: run.plan.running ? 'running' : 'completed',
      })),
      samples: runs.reduce((sum, run) => sum + run.batch * batchSize, 0),
      trials: trialCounts,
      appendSeconds: +appendSeconds.toFixed(1),
      appendEventsPerSec: Math.round(events / appendSeconds),
      projectionSeconds: projectionSeconds === null ? null : +projectionSeconds.toFixed(1),
      projectionEventsPerSec: projectionSeconds === null ? null : Math.round(events / projectionSeconds),
      fileBytes: parsed.kind === 'sqlite' ? await fileBytes(parsed.path) : 0,
      generatedAt: new Date().toISOString(),
    };
    if (parsed.kind === 'sqlite' && projectionSeconds !== null)
      await writeFile(summaryPath(parsed.path), `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  } finally {
    await store.close().catch(() => undefined);
  }
}

/** Projects the log into the read models in the store's own file; returns the seconds it took. */
export async function projectAll(store: EventStore, dbPath: string, log: (line: string) => void): Promise<number> {
  const db = await openReadModels(dbPath);
  try {
    const head = await store.headPosition();
    const from = await readCheckpoint(db);
    const started = performance.now();
    let lastLog = started;
    await catchUp(store, db, {
      batchSize: 2000,
      onProgress: (position) => {
        const now = performance.now();
        if (now - lastLog < 5000) return;
        lastLog = now;
        const done = Number(position - from);
        const seconds = (now - started) / 1000;
        const rate = done / seconds;
        log(
          `projected ${position}/${head} (${Math.round(rate)} events/s, about ${Math.round(Number(head - position) / rate)} s left)`,
        );
      },
    });
    const seconds = (performance.now() - started) / 1000;
    log(`projected ${head - from} events in ${seconds.toFixed(1)} s`);
    return seconds;
  } finally {
    await db.close();
  }
}

async function fileBytes(path: string): Promise<number> {
  let total = 0;
  for (const suffix of ['', '-wal']) total += (await stat(path + suffix).catch(() => null))?.size ?? 0;
  return total;
}

/** Removes a database with its WAL, shared-memory file and summary. */
export async function removeDatabase(path: string): Promise<void> {
  for (const suffix of ['', '-wal', '-shm', '.history.json']) await rm(path + suffix, { force: true });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '1000000' },
      store: { type: 'string' },
      experiments: { type: 'string', default: '4' },
      epochs: { type: 'string', default: '5' },
      seed: { type: 'string', default: '2018' },
      force: { type: 'boolean', default: false },
      'no-project': { type: 'boolean', default: false },
    },
  });
  const address = values.store;
  if (!address) throw new Error('--store sqlite:<path> is required');
  const parsed = parseStoreAddress(address);
  if (parsed.kind !== 'sqlite') throw new Error('--store must be a sqlite: address (the read models are built in its file)');
  const whole = (name: string, text: string) => {
    const n = Number(text.replaceAll('_', ''));
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a whole number >= 1, got "${text}"`);
    return n;
  };
  const events = whole('events', values.events);
  if (values.force) await removeDatabase(parsed.path);
  else if (((await stat(parsed.path).catch(() => null))?.size ?? 0) > 0) {
    // Opening it is the only reliable emptiness check; a non-empty store is refused inside generateHistory too.
    const store = await openStore(address);
    const head = await store.headPosition();
    await store.close();
    if (head !== 0n) throw new Error(`${parsed.path} already holds ${head} events; pass --force to replace it`);
  }
  const summary = await generateHistory(address, {
    events,
    experiments: whole('experiments', values.experiments),
    epochs: whole('epochs', values.epochs),
    seed: whole('seed', values.seed),
    project: !values['no-project'],
    log: (line) => process.stderr.write(`${line}\n`),
  });
  console.log(JSON.stringify(summary));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    process.stderr.write(`generate-history: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
