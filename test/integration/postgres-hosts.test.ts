import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { auditStoredExperiment } from '../../core/audit/audit-store.ts';
import type { RecordedEvent } from '../../core/events/event.ts';
import { parsePostgresAddress } from '../../core/store/address.ts';
import { openPostgresStore, type PostgresEventStore } from '../../core/store/postgres/postgres-store.ts';
import { createOtherHost, otherHostUnavailable, relay } from '../support/netns.ts';
import { dropSchema, freshSchema, inSchema, NO_PG_SERVER, PG_URL } from '../support/postgres.ts';

const exec = promisify(execFile);
const NASNET = fileURLToPath(new URL('../../cli/nasnet.js', import.meta.url));
const url = PG_URL;
const noOtherHost = url ? await otherHostUnavailable() : NO_PG_SERVER;

async function nasnet(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [NASNET, ...args], { timeout: 180_000, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;

function exited(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

/** The events of one experiment: its stream and its trials. */
async function experimentEvents(store: PostgresEventStore, experimentId: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  const filter = { streamPrefixes: [`experiment-${experimentId}`, `trial-${experimentId}-`] };
  for await (const event of store.readAll({ filter })) events.push(event);
  return events;
}

async function until<T>(what: string, look: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await look();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('PostgreSQL store shared by several hosts', { skip: url ? false : NO_PG_SERVER }, () => {
  const schema = freshSchema('hosts');
  const local = inSchema(url ?? '', schema);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nasnet-pg-hosts-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await dropSchema(url!, schema);
  });

  it('runs a search on it, audits it, replays its read models and serves them over GraphQL', { timeout: 180_000 }, async () => {
    const search = await nasnet([
      ...['search', '--trainer', 'synthetic', '--samples', '8', '--batch', '4', '--workers', '2'],
      ...['--experiment-id', 'tiny', '--store', local, '--json'],
    ]);
    assert.equal(search.code, 0, search.stderr);
    assert.equal(lastJson(search.stdout).status, 'completed');
    const audit = await nasnet(['audit', 'tiny', '--store', local, '--json']);
    const { position, ...report } = lastJson(audit.stdout);
    assert.deepEqual(report, { ok: true, checkedSamples: 8, checkedUpdates: 2, firstDivergence: null });
    assert.match(String(position), /^[1-9]\d*$/, 'the report says how far it read');
    const projections = join(dir, 'read-models.db');
    const replay = await nasnet(['replay', '--store', local, '--projections', projections, '--json']);
    assert.equal(replay.code, 0, replay.stderr);
    assert.equal(lastJson(replay.stdout).experiments, 1);

    const serve = spawn(
      process.execPath,
      [NASNET, 'serve', '--store', local, '--projections', projections, '--port', '0', '--json'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const done = exited(serve);
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        serve.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        void done.then(({ stderr }) => reject(new Error(`serve exited: ${stderr}`)));
      });
      const { graphql } = JSON.parse(line) as { graphql: string };
      const response = await fetch(graphql, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ experiment(id: "tiny") { sampleCount status } }' }),
      });
      assert.deepEqual(await response.json(), { data: { experiment: { sampleCount: 8, status: 'COMPLETED' } } });
    } finally {
      serve.kill('SIGINT');
    }
    assert.equal((await done).code, 0);
  });

  it('takes over the trial of a worker on another host whose link is cut mid-training: nothing lost or trained twice', {
    skip: noOtherHost ?? false,
    timeout: 240_000,
  }, async () => {
    const server = new URL(parsePostgresAddress(url!).connectionString);
    const host = await createOtherHost();
    const relayed = await relay(host.hostAddress, Number(server.port || 5432), {
      host: server.hostname,
      port: Number(server.port || 5432),
    });
    const remoteUrl = new URL(url!);
    remoteUrl.hostname = host.hostAddress;
    const remote = inSchema(remoteUrl.toString(), schema);
    const store = await openPostgresStore(local);
    const children: ChildProcess[] = [];
    try {
      const config = join(dir, 'hosts.json');
      await writeFile(config, JSON.stringify({ trainerOptions: { delayMs: 3_000 }, trials: { leaseSeconds: 5 } }));
      const controller = spawn(
        process.execPath,
        [
          ...[NASNET, 'search', '--trainer', 'synthetic', '--config', config, '--samples', '6', '--batch', '3'],
          ...['--workers', '0', '--experiment-id', 'hosts', '--store', local, '--json'],
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(controller);
      const controllerDone = exited(controller);
      await until('the first samples', async () =>
        (await experimentEvents(store, 'hosts')).some((event) => event.type === 'ArchitectureSampled') ? true : undefined,
      );

      const [program, args] = host.command(process.execPath, [
        ...[NASNET, 'worker', '--trainer', 'synthetic', '--experiment', 'hosts', '--workers', '2'],
        ...['--store', remote, '--json'],
      ]);
      const away = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(away);
      const awayId = `/${away.pid}/`;
      const claimedAway = await until('a claim by the worker on the other host', async () => {
        const claims = (await experimentEvents(store, 'hosts')).filter(
          (event) => event.type === 'TrialClaimed' && event.data.workerId.includes(awayId),
        );
        return claims.length > 0 ? claims.map((event) => (event.data as { sampleId: string }).sampleId) : undefined;
      });
      await host.cut();

      const here = await nasnet([
        ...['worker', '--trainer', 'synthetic', '--experiment', 'hosts', '--workers', '2'],
        ...['--store', local, '--json'],
      ]);
      assert.equal(here.code, 0, here.stderr);
      const search = await controllerDone;
      assert.equal(search.code, 0, search.stderr);
      assert.equal(lastJson(search.stdout).status, 'completed');

      const events = await experimentEvents(store, 'hosts');
      const ofType = (type: string) => events.filter((event) => event.type === type);
      const perSample = (type: string) => {
        const counts = new Map<string, number>();
        for (const event of ofType(type)) {
          const id = (event.data as { sampleId: string }).sampleId;
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
        return counts;
      };
      assert.equal(ofType('ArchitectureSampled').length, 6);
      assert.deepEqual([...perSample('RewardReported').values()], [1, 1, 1, 1, 1, 1], 'one reward per sample');
      assert.ok(
        [...perSample('TrainingCompleted').values()].every((count) => count === 1),
        'no sample trained to completion twice',
      );
      for (const sampleId of claimedAway) {
        const claims = ofType('TrialClaimed').filter((event) => (event.data as { sampleId: string }).sampleId === sampleId);
        const taker = claims.at(-1)!.data as { workerId: string; attempt: number };
        assert.ok(taker.attempt >= 2 && !taker.workerId.includes(awayId), `${sampleId} was taken over after its lease`);
      }
      assert.ok(ofType('TrainingCompleted').every((event) => !(event.data as { workerId?: string }).workerId?.includes(awayId)));
      const audit = await auditStoredExperiment(store, 'hosts');
      assert.equal(audit.ok, true, JSON.stringify(audit.firstDivergence));
    } finally {
      for (const child of children) child.kill('SIGKILL');
      await store.close();
      await relayed.close();
      await host.remove();
    }
  });
});
