/**
 * Replay, resume and audit at the scale of a paper-size search.
 *
 *   npm run bench:replay -- --json [--events N] [--updates U] [--snapshot-every K] [--part all|projector|controller]
 *                                  [--store sqlite|postgres [--pg-url URL]]
 *
 * Projector: the history of bench:graphql (`.nasnet/bench-1m.db` for the default 1M events,
 * generated there when missing; a temporary one for another --events) is read whole with
 * `readAll`, then projected from scratch into a fresh read-model file with `replay`; both
 * rates are events per second of the same run. With `--store postgres` the history is written
 * into a fresh schema of the server at --pg-url ($NASNET_PG_URL) and read from there; the read
 * models stay SQLite, as they do under `nasnet serve`.
 *
 * Controller: a synthetic search of U policy updates (the paper's controller: PPO, batches of
 * 20, 4 PPO epochs; cached as `.nasnet/bench-replay-<U>.db`) stopped after update U−1. Then:
 * `resumeSeconds` is what `nasnet resume` spends before it can sample again (read the log,
 * the newest valid snapshot, replay the tail: prepareController), `resumeFromScratchSeconds`
 * the same with no snapshot; `fullAuditSeconds` is `nasnet audit`; `incrementalAuditMs` is
 * the audit `nasnet serve` runs after the search went on by one more update, its first audit
 * having been a full one.
 */
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { auditStoredExperiment, createIncrementalAuditor } from '../core/audit/audit-store.ts';
import { createExperiment, loadExperiment, prepareController, rebuildStrategy } from '../core/runtime/controller-loop.ts';
import { DEFAULT_SNAPSHOT_EVERY } from '../core/runtime/controller-snapshots.ts';
import { PRESETS } from '../core/runtime/presets.ts';
import { runSearch } from '../core/runtime/search.ts';
import { validateSearchConfig } from '../core/runtime/search-config.ts';
import { openReadModels, replay } from '../core/projections/sqlite-projector.ts';
import { openStore } from '../core/store/open-store.ts';
import type { EventStore } from '../core/store/port.ts';
import { createTrainer } from '../plugins/trainers/synthetic/synthetic-trainer.ts';
import { dropSchema, freshSchema, inSchema } from '../test/support/postgres.ts';
import { generateHistory, readHistorySummary, removeDatabase } from './generate-history.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    events: { type: 'string', default: '1000000' },
    updates: { type: 'string', default: '1000' },
    'snapshot-every': { type: 'string', default: String(DEFAULT_SNAPSHOT_EVERY) },
    part: { type: 'string', default: 'all' },
    store: { type: 'string', default: 'sqlite' },
    'pg-url': { type: 'string', default: process.env.NASNET_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const whole = (name: string, text: string, min: number): number => {
  const n = Number(text.replaceAll('_', ''));
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be a whole number >= ${min}, got "${text}"`);
  return n;
};
const EVENTS = whole('events', values.events, 1000);
const UPDATES = whole('updates', values.updates, 3);
const SNAPSHOT_EVERY = whole('snapshot-every', values['snapshot-every'], 0);
const BATCH = 20;
const say = (line: string) => process.stderr.write(`${line}\n`);
const round = (x: number, digits = 3) => Number(x.toFixed(digits));
const seconds = (from: number) => (performance.now() - from) / 1000;

// ---- the projector ------------------------------------------------------------------------

async function projectorHistory(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  if (EVENTS === 1_000_000) {
    const path = resolve('.nasnet/bench-1m.db');
    const summary = await readHistorySummary(path);
    if (!summary || summary.events < EVENTS || !(await stat(path).catch(() => null))) {
      say(`history: generating ${EVENTS} events into ${path} (kept for the next run)`);
      await removeDatabase(path);
      await generateHistory(`sqlite:${path}`, { events: EVENTS, log: say });
    } else say(`history: ${path} (cached)`);
    return { path, cleanup: async () => undefined };
  }
  const dir = await mkdtemp(join(tmpdir(), 'nasnet-bench-replay-'));
  const path = join(dir, 'history.db');
  say(`history: generating ${EVENTS} events into ${path} (temporary)`);
  await generateHistory(`sqlite:${path}`, { events: EVENTS, log: say });
  return { path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The history in a fresh schema of the PostgreSQL server at --pg-url, dropped afterwards. */
async function postgresHistory(): Promise<{ address: string; cleanup: () => Promise<void> }> {
  const url = values['pg-url']!;
  const schema = freshSchema('bench_replay');
  const address = inSchema(url, schema);
  say(`history: generating ${EVENTS} events into PostgreSQL schema ${schema} (dropped after)`);
  await generateHistory(address, { events: EVENTS, log: say });
  return { address, cleanup: () => dropSchema(url, schema) };
}

async function measureProjector() {
  if (values.store !== 'sqlite' && values.store !== 'postgres')
    throw new Error(`--store must be sqlite or postgres, got "${values.store}"`);
  const history =
    values.store === 'postgres'
      ? await postgresHistory()
      : await projectorHistory().then((local) => ({ address: `sqlite:${local.path}`, cleanup: local.cleanup }));
  const store = await openStore(history.address);
  const dir = await mkdtemp(join(tmpdir(), 'nasnet-bench-replay-rm-'));
  try {
    let events = 0;
    let started = performance.now();
    for await (const _ of store.readAll()) events++;
    const readAllSeconds = seconds(started);
    say(`readAll: ${events} events in ${readAllSeconds.toFixed(1)} s`);
    const db = await openReadModels(join(dir, 'read-models.db'));
    started = performance.now();
    await replay(store, db, { batchSize: 2000 });
    const replaySeconds = seconds(started);
    await db.close();
    say(`replay: ${events} events in ${replaySeconds.toFixed(1)} s`);
    const readAllEventsPerSec = Math.round(events / readAllSeconds);
    const replayEventsPerSec = Math.round(events / replaySeconds);
    return {
      store: values.store,
      events,
      readAllEventsPerSec,
      replayEventsPerSec,
      replayVsReadAll: round(replayEventsPerSec / readAllEventsPerSec),
    };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
    await history.cleanup();
  }
}

// ---- the controller -----------------------------------------------------------------------

const EXPERIMENT = 'bench-replay';

/** Runs the search until update `until`, then stops it (ExperimentStopped), as Ctrl-C would. */
async function searchUntil(store: EventStore, until: number): Promise<void> {
  const stop = new AbortController();
  let last = 0;
  const outcome = await runSearch({
    store,
    experimentId: EXPERIMENT,
    writerId: 'bench',
    plugin: await createTrainer({ concurrency: 2, options: {} }),
    workers: 2,
    signal: stop.signal,
    snapshotEvery: SNAPSHOT_EVERY,
    onActivity: (activity) => {
      if (activity.kind !== 'updated') return;
      if (activity.policyVersion % 50 === 0 && activity.policyVersion !== last)
        say(`search: update ${activity.policyVersion} of ${until}`);
      last = activity.policyVersion;
      if (activity.policyVersion >= until) stop.abort(new Error('bench: stop'));
    },
  });
  if (outcome.policyVersion < until) throw new Error(`the search ended at update ${outcome.policyVersion}, before ${until}`);
}

async function controllerHistory(): Promise<string> {
  const path = resolve(`.nasnet/bench-replay-${UPDATES}-k${SNAPSHOT_EVERY}.db`);
  const store = await openStore(`sqlite:${path}`);
  try {
    const head = await store.headPosition();
    if (head > 0n) {
      const { state } = await prepareController(store, EXPERIMENT);
      if (state.updates.length === UPDATES - 1) {
        say(`search history: ${path} (cached, ${UPDATES - 1} updates)`);
        return path;
      }
    }
  } catch {
    // Not a complete cached history: make it again below.
  } finally {
    await store.close();
  }
  await removeDatabase(path);
  const fresh = await openStore(`sqlite:${path}`);
  try {
    const config = validateSearchConfig({
      ...PRESETS.paper.config,
      preset: 'paper',
      trainer: 'synthetic',
      dataset: 'none',
      samples: UPDATES * BATCH,
    });
    await createExperiment(fresh, { experimentId: EXPERIMENT, config, seed: 2018, codeVersion: 'bench', writerId: 'bench' });
    const started = performance.now();
    say(`search history: ${UPDATES - 1} updates of ${BATCH} into ${path} (kept for the next run)`);
    await searchUntil(fresh, UPDATES - 1);
    say(`search history: ${seconds(started).toFixed(0)} s`);
  } finally {
    await fresh.close();
  }
  return path;
}

async function measureController() {
  const path = await controllerHistory();
  const scratch = join(await mkdtemp(join(tmpdir(), 'nasnet-bench-replay-c-')), 'copy.db');
  const store = await openStore(`sqlite:${path}`);
  try {
    let started = performance.now();
    const prepared = await prepareController(store, EXPERIMENT);
    const resumeSeconds = seconds(started);
    say(`resume: ${resumeSeconds.toFixed(2)} s (${prepared.replayed} updates replayed after the snapshot)`);
    started = performance.now();
    const state = await loadExperiment(store, EXPERIMENT);
    rebuildStrategy(state, []);
    const resumeFromScratchSeconds = seconds(started);
    say(`resume from scratch: ${resumeFromScratchSeconds.toFixed(1)} s`);
    started = performance.now();
    const full = await auditStoredExperiment(store, EXPERIMENT);
    const fullAuditSeconds = seconds(started);
    say(`full audit: ${fullAuditSeconds.toFixed(1)} s (${full.ok ? 'ok' : 'FAILED'})`);
    return {
      updates: prepared.state.updates.length,
      snapshotEvery: SNAPSHOT_EVERY,
      replayedAfterSnapshot: prepared.replayed,
      resumeSeconds: round(resumeSeconds),
      resumeFromScratchSeconds: round(resumeFromScratchSeconds),
      fullAuditSeconds: round(fullAuditSeconds),
      fullAuditOk: full.ok,
      ...(await measureIncrementalAudit(path, scratch)),
    };
  } finally {
    await store.close();
    await rm(join(scratch, '..'), { recursive: true, force: true });
  }
}

/** On a copy of the history: a full first audit, one more update of the search, then the audit that goes on. */
async function measureIncrementalAudit(path: string, copy: string) {
  // The store's file as it stands (its WAL folded in by closing it), copied whole.
  for (const suffix of ['', '-wal']) await copyFile(path + suffix, copy + suffix).catch(() => undefined);
  const target = await openStore(`sqlite:${copy}`);
  try {
    const auditor = createIncrementalAuditor(target);
    await auditor.audit(EXPERIMENT);
    await searchUntil(target, UPDATES);
    const started = performance.now();
    const report = await auditor.audit(EXPERIMENT);
    const incrementalAuditMs = round(seconds(started) * 1000, 1);
    say(`incremental audit: ${incrementalAuditMs} ms from position ${report.from} (${report.ok ? 'ok' : 'FAILED'})`);
    return { incrementalAuditMs, incrementalAuditOk: report.ok, incrementalAuditUpdates: report.checkedUpdates };
  } finally {
    await target.close();
  }
}

// ---- main ---------------------------------------------------------------------------------

if (!['all', 'projector', 'controller'].includes(values.part))
  throw new Error(`--part must be all, projector or controller, got "${values.part}"`);
const projector = values.part === 'controller' ? {} : await measureProjector();
const controller = values.part === 'projector' ? {} : await measureController();
const report = {
  ...projector,
  ...controller,
  machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
};
process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
