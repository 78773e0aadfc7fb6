import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openSqliteStore } from '../../core/store/sqlite/sqlite-store.ts';
import { architectureSampled, experimentCreated, trainingProgressed } from '../support/events.ts';

const NASNET = fileURLToPath(new URL('../../cli/nasnet.js', import.meta.url));
const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), 'nasnet-cli-'));
const store = `sqlite:${join(dir, 'cli.db')}`;
after(() => rm(dir, { recursive: true, force: true }));

const lines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { type: string; stream: string; position: string; revision: string });

describe('nasnet events', () => {
  before(async () => {
    const s = await openSqliteStore(join(dir, 'cli.db'));
    await s.append(
      'experiment-cli',
      [experimentCreated('cli'), architectureSampled('cli', 0), architectureSampled('cli', 1)],
      'no_stream',
    );
    await s.append('trial-cli-0', [trainingProgressed('cli', 0, 0)], 'no_stream');
    await s.close();
  });

  it('prints the log as JSON lines, with filters', async () => {
    const all = lines((await run(NASNET, ['events', '--store', store])).stdout);
    assert.deepEqual(
      all.map((e) => e.position),
      ['1', '2', '3', '4'],
    );
    const sampled = lines((await run(NASNET, ['events', '--store', store, '--type', 'ArchitectureSampled'])).stdout);
    assert.deepEqual(
      sampled.map((e) => e.revision),
      ['1', '2'],
    );
    const trials = lines((await run(NASNET, ['events', '--store', store, '--prefix', 'trial-', '--after', '1'])).stdout);
    assert.deepEqual(
      trials.map((e) => e.stream),
      ['trial-cli-0'],
    );
    const stream = lines((await run(NASNET, ['events', '--store', store, '--stream', 'experiment-cli', '--limit', '2'])).stdout);
    assert.deepEqual(
      stream.map((e) => e.type),
      ['ExperimentCreated', 'ArchitectureSampled'],
    );
  });

  it('follows the log live', async () => {
    const follower = spawn(NASNET, ['events', '--store', store, '--follow', '--after', '4', '--limit', '1']);
    let out = '';
    follower.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => follower.on('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const s = await openSqliteStore(join(dir, 'cli.db'));
    await s.append('trial-cli-0', [trainingProgressed('cli', 0, 1)], 0n);
    await s.close();
    assert.equal(await exited, 0);
    assert.deepEqual(
      lines(out).map((e) => e.position),
      ['5'],
    );
  });

  it('names the bad argument or file, and exits 1', async () => {
    await assert.rejects(
      run(NASNET, ['events', '--store', store, '--after', 'soon']),
      (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stderr, /--after must be a global position \(a whole number\), got "soon"/);
        return true;
      },
    );
    const notes = join(dir, 'notes.txt');
    await writeFile(notes, 'not a database');
    await assert.rejects(run(NASNET, ['events', '--store', `sqlite:${notes}`]), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr, /notes\.txt is not a SQLite database/);
      return true;
    });
    await assert.rejects(
      run(NASNET, ['events', '--store', 'mysql://db']),
      /store must be sqlite:<path>, postgres:\/\/\S+ or esdb:\/\/host:port/,
    );
  });
});
