import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { RecordedEvent } from '../../core/events/event.ts';
import { openReadModels } from '../../core/projections/sqlite-projector.ts';
import { openSqliteStore } from '../../core/store/sqlite/sqlite-store.ts';
import { dumpReadModels } from '../support/read-models.ts';

const NASNET = fileURLToPath(new URL('../../cli/nasnet.js', import.meta.url));
const exec = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), 'nasnet-cli-search-'));
after(() => rm(dir, { recursive: true, force: true }));

async function nasnet(args: string[], timeout = 240_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [NASNET, ...args], { timeout, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

async function events(path: string): Promise<RecordedEvent[]> {
  const store = await openSqliteStore(path);
  const all: RecordedEvent[] = [];
  for await (const event of store.readAll()) all.push(event);
  await store.close();
  return all;
}

async function readModels(path: string): Promise<Record<string, unknown[]>> {
  const db = await openReadModels(path);
  const tables = await dumpReadModels(db);
  await db.close();
  return tables;
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
const count = (all: RecordedEvent[], type: string) => all.filter((event) => event.type === type).length;

/**
 * A 24-sample synthetic search in batches of 4, killed with SIGKILL after a random number
 * of progress lines (mid-claim, mid-training, mid-update), resumed and killed twice more,
 * then resumed to the end. Checks what must hold after any crash and returns the log.
 */
async function killedAndResumed(name: string, flags: string[], configFields: Record<string, unknown>): Promise<RecordedEvent[]> {
  const path = join(dir, `${name}.db`);
  const config = join(dir, `${name}.json`);
  await writeFile(
    config,
    JSON.stringify({
      trainerOptions: { delayMs: 40 },
      trials: { maxAttempts: 5, leaseSeconds: 60, retryBackoffSeconds: 0.05, failureReward: 0 },
      ...configFields,
    }),
  );
  const base = ['--store', `sqlite:${path}`, '--json'];
  const kill = async (args: string[], afterLines: number) => {
    const child = spawn(process.execPath, [NASNET, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let lines = 0;
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        lines += chunk.toString().split('\n').length - 1;
        if (lines >= afterLines) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.once('exit', () => resolve());
    });
    await new Promise((resolve) =>
      child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve),
    );
  };
  const randomLines = () => 5 + Math.floor(Math.random() * 40);
  await kill(
    [
      'search',
      '--trainer',
      'synthetic',
      '--config',
      config,
      ...flags,
      '--samples',
      '24',
      '--batch',
      '4',
      '--workers',
      '2',
      '--experiment-id',
      'k',
      ...base,
    ],
    randomLines(),
  );
  for (let round = 0; round < 2; round++) await kill(['resume', 'k', '--workers', '2', ...base], randomLines());
  const last = await nasnet(['resume', 'k', '--workers', '2', ...base]);
  assert.equal(last.code, 0, last.stderr);
  assert.equal(lastJson(last.stdout).status, 'completed');
  const all = await events(path);
  const sampled = all
    .filter((event) => event.type === 'ArchitectureSampled')
    .map((event) => (event.data as { index: number }).index);
  assert.deepEqual(
    sampled.sort((a, b) => a - b),
    Array.from({ length: 24 }, (_, i) => i),
    'each index sampled exactly once',
  );
  const rewarded = all
    .filter((event) => event.type === 'RewardReported')
    .map((event) => (event.data as { sampleId: string }).sampleId);
  assert.equal(new Set(rewarded).size, 24);
  assert.equal(rewarded.length, 24, 'one reward per sample');
  assert.equal(count(all, 'PolicyUpdated'), 6);
  assert.equal(count(all, 'ExperimentCompleted'), 1);
  const audit = await nasnet(['audit', 'k', '--store', `sqlite:${path}`, '--json']);
  assert.equal(JSON.parse(audit.stdout).ok, true, audit.stdout);
  return all;
}

describe('nasnet search (end to end)', () => {
  it('--preset tiny with the tfjs trainer completes, learns more than chance, and passes the audit', {
    timeout: 300_000,
  }, async () => {
    const store = `sqlite:${join(dir, 'tiny.db')}`;
    const run = await nasnet(['search', '--preset', 'tiny', '--store', store, '--experiment-id', 'tiny', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const summary = lastJson(run.stdout);
    assert.equal(summary.experimentId, 'tiny');
    assert.equal(summary.status, 'completed');
    assert.equal(summary.samples, 8);
    assert.equal((summary.completed as number) + (summary.failed as number), 8);
    assert.ok((summary.bestReward as number) > 0.2, `best validation accuracy ${summary.bestReward} should beat chance (0.1)`);
    assert.ok((summary.best as { genotype: unknown }).genotype);

    const status = await nasnet(['status', 'tiny', '--store', store, '--json']);
    assert.deepEqual(
      Object.keys(JSON.parse(status.stdout)).sort(),
      ['bestReward', 'bestSampleId', 'completed', 'experimentId', 'failed', 'policyVersion', 'samples', 'status'].sort(),
    );
    assert.equal(JSON.parse(status.stdout).policyVersion, 2);
    const audit = await nasnet(['audit', 'tiny', '--store', store, '--json']);
    assert.equal(audit.code, 0);
    assert.equal(JSON.parse(audit.stdout).ok, true);
    // Batch norm was recalibrated on the training images (all 384 of tiny's) before every reward, and the config says so.
    const logged = await nasnet(['events', '--store', store, '--type', 'ExperimentCreated', '--type', 'TrainingCompleted']);
    const [created, ...completed] = logged.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { data: Record<string, unknown> });
    assert.equal((created!.data.config as { training: Record<string, unknown> }).training.batchNormRecalibration, 512);
    assert.ok(completed.length >= 1);
    for (const event of completed)
      assert.deepEqual(event.data.evaluation, { batchNorm: 'recalibrated', recalibrationImages: 384 });
    const exported = await nasnet(['export', 'tiny', '--store', store, '--top', '3', '--format', 'json']);
    const rows = exported.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { rank: number; reward: number });
    assert.ok(rows.length >= 1 && rows.length <= 3);
    assert.equal(rows[0]!.reward, summary.bestReward);
    for (const format of ['text', 'dot', 'darts'])
      assert.equal((await nasnet(['export', 'tiny', '--store', store, '--top', '1', '--format', format])).code, 0);

    // The search kept the read models current as it ran; a replay from the log gives the same tables.
    const live = await readModels(join(dir, 'tiny.db'));
    const experiment = live.rm_experiments![0] as { status: string; sample_count: number; best_reward: number };
    assert.deepEqual([experiment.status, experiment.sample_count, experiment.best_reward], ['completed', 8, summary.bestReward]);
    assert.equal(live.rm_samples!.length, 8);
    const replayed = await nasnet(['replay', '--store', store, '--json']);
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.equal(JSON.parse(replayed.stdout).experiments, 1);
    assert.deepEqual(await readModels(join(dir, 'tiny.db')), live);
  });

  it('survives kill -9 at random moments: resume completes it, nothing is sampled twice or lost, and the audit passes', {
    timeout: 240_000,
  }, async () => {
    await killedAndResumed('killed', [], {});
  });

  it('survives kill -9 with --strategy evolution too: mutants of the population are drawn, resumed exactly, and the audit passes', {
    timeout: 240_000,
  }, async () => {
    // A population of two batches, so most of the 24 samples are mutants.
    const all = await killedAndResumed('evolution', ['--strategy', 'evolution'], {
      controller: { batchSize: 4, populationSize: 8, tournamentSize: 3 },
    });
    const samples = all
      .filter((event) => event.type === 'ArchitectureSampled')
      .map((event) => event.data as { index: number; actions: number[] });
    samples.sort((a, b) => a.index - b.index);
    const oneChangeFromEarlier = samples.filter(
      ({ index, actions }) =>
        index >= 8 &&
        samples.some((earlier) => earlier.index < index && earlier.actions.filter((a, t) => a !== actions[t]).length === 1),
    );
    assert.equal(
      oneChangeFromEarlier.length,
      16,
      'every sample after the first two batches is a one-decision mutant of an earlier one',
    );
  });

  it('two worker processes on one SQLite file never train the same trial twice', { timeout: 180_000 }, async () => {
    const path = join(dir, 'workers.db');
    const store = `sqlite:${path}`;
    const config = join(dir, 'slow.json');
    // Slow enough that the second worker process is up before the first could take every trial.
    await writeFile(config, JSON.stringify({ trainerOptions: { delayMs: 600 } }));
    const controller = nasnet([
      'search',
      '--trainer',
      'synthetic',
      '--config',
      config,
      '--samples',
      '16',
      '--batch',
      '8',
      '--workers',
      '0',
      '--experiment-id',
      'w',
      '--store',
      store,
      '--json',
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // Without --trainer, a worker joining one experiment trains it with the experiment's trainer.
    const workers = [['--trainer', 'synthetic'], []].map((trainer) =>
      nasnet(['worker', ...trainer, '--experiment', 'w', '--workers', '2', '--store', store, '--json']),
    );
    const [search, ...done] = await Promise.all([controller, ...workers]);
    assert.equal(search.code, 0, search.stderr);
    for (const worker of done) assert.equal(worker.code, 0, worker.stderr);
    const trained = done.map((worker) => lastJson(worker.stdout).trained as number);
    assert.equal(
      trained[0]! + trained[1]!,
      16 - done.reduce((sum, worker) => sum + (lastJson(worker.stdout).reused as number), 0),
    );
    const all = await events(path);
    const claims = all
      .filter((event) => event.type === 'TrialClaimed')
      .map((event) => (event.data as { sampleId: string }).sampleId);
    assert.equal(new Set(claims).size, claims.length, 'no trial claimed twice');
    const writers = new Set(
      all.filter((event) => event.type === 'TrialClaimed').map((event) => (event.data as { workerId: string }).workerId),
    );
    assert.equal(writers.size, 2, 'both worker processes trained');
    const mismatch = await nasnet(['worker', '--trainer', 'tfjs', '--experiment', 'w', '--store', store]);
    assert.notEqual(mismatch.code, 0);
    assert.match(mismatch.stderr, /--trainer: experiment w is configured for trainer "synthetic", not "tfjs"/);
  });

  it('refuses bad flags, config files and ids with a message naming them, writing nothing', async () => {
    const path = join(dir, 'bad.db');
    const store = `sqlite:${path}`;
    const badConfig = join(dir, 'bad-config.json');
    await writeFile(badConfig, JSON.stringify({ samples: -3 }));
    const typo = join(dir, 'typo.json');
    await writeFile(typo, JSON.stringify({ epocs: 3 }));
    const bigTournament = join(dir, 'big-tournament.json');
    await writeFile(
      bigTournament,
      JSON.stringify({ strategy: 'evolution', controller: { populationSize: 4, tournamentSize: 5 } }),
    );
    const cases: Array<[string[], RegExp]> = [
      [['search', '--samples', 'many'], /--samples must be a whole number >= 1, got "many"/],
      [['search', '--strategy', 'annealing'], /--strategy must be one of ppo, reinforce, random, evolution, got "annealing"/],
      [['search', '--preset', 'huge'], /--preset must be one of tiny, demo, small, paper, got "huge"/],
      [['search', '--experiment-id', 'a b'], /--experiment-id must be .* got "a b"/],
      [['search', '--config', badConfig], /config file .*bad-config\.json: samples must be >= 1 \(got -3\)/],
      [['search', '--config', typo], /config file .*typo\.json: epocs is not a known setting/],
      [
        ['search', '--config', bigTournament],
        /config file .*big-tournament\.json: controller\.tournamentSize must be <= populationSize \(4\).*\(got 5\)/,
      ],
      [['search', '--config', join(dir, 'missing.json')], /--config ".*missing\.json" cannot be read: no such file/],
      [['search', '--trainer', './nowhere.js', '--workers', '1'], /--trainer "\.\/nowhere\.js"/],
      [['search', '--dataset', join(dir, 'no-such-dir')], /--dataset ".*no-such-dir"/],
      [['search', '--F', '32', '--filters', '4'], /--F .* --filters .*not both/],
      [['status', 'nope'], /no experiment "nope"/],
      [['resume', 'nope'], /no experiment "nope"/],
      [
        ['status', 'x', '--store', 'mysql://db'],
        /store must be sqlite:<path>, postgres:\/\/\S+ or esdb:\/\/host:port \(got "mysql:\/\/db"\)/,
      ],
    ];
    for (const [args, message] of cases) {
      const run = await nasnet([...args, ...(args.includes('--store') ? [] : ['--store', store])], 60_000);
      assert.notEqual(run.code, 0, `${args.join(' ')} should fail`);
      assert.match(run.stderr, message, `${args.join(' ')}: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace without --debug');
    }
    const written = await events(path).catch(() => []);
    assert.equal(written.length, 0, 'nothing was written');
  });

  it('leaves a corrupt database file untouched', async () => {
    const path = join(dir, 'corrupt.db');
    await writeFile(path, 'this is not a database, but it is precious');
    const run = await nasnet(['search', '--trainer', 'synthetic', '--samples', '4', '--store', `sqlite:${path}`]);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /corrupt\.db/);
    assert.equal(await readFile(path, 'utf8'), 'this is not a database, but it is precious');
  });
});
