import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { DoctorReport } from '../cli/commands/doctor.ts';
import { openSqliteStore } from '../core/store/sqlite/sqlite-store.ts';
import { loadMigrations } from '../core/store/sqlite/migrate.ts';
import { exampleOfEveryType } from './support/events.ts';

const NASNET = fileURLToPath(new URL('../cli/nasnet.js', import.meta.url));
const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), 'nasnet-cli-doctor-'));
after(() => rm(dir, { recursive: true, force: true }));

function doctor(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(NASNET, ['doctor', ...args]);
}

/** Runs a doctor that must fail and returns what it printed. */
async function failingDoctor(...args: string[]): Promise<string> {
  let stdout = '';
  await assert.rejects(doctor(...args), (error: { code: number; stdout: string }) => {
    assert.equal(error.code, 1);
    stdout = error.stdout;
    return true;
  });
  return stdout;
}

// Each run imports torch and loads WebAssembly: the independent cases run side by side.
describe('nasnet doctor', { concurrency: true }, () => {
  it('reports the machine, the backends, the datasets and a healthy store as one JSON object', async () => {
    const path = join(dir, 'good.db');
    const store = await openSqliteStore(path);
    const events = exampleOfEveryType('doc').filter((event) => event.type === 'ExperimentCreated' || event.type === 'ControllerInitialized');
    await store.append('experiment-doc', events, 'no_stream');
    await store.close();

    const report = JSON.parse((await doctor('--json', '--store', `sqlite:${path}`)).stdout) as DoctorReport;
    assert.deepEqual(Object.keys(report), ['node', 'cpu', 'memory', 'tfjs', 'gpu', 'datasets', 'python', 'store']);
    assert.equal(report.node.version, process.version);
    assert.ok(report.cpu.cores >= 1 && report.memory.totalBytes > 0);
    assert.deepEqual(Object.keys(report.tfjs), ['tfjs-node-gpu', 'tfjs-node', 'wasm']);
    assert.equal(report.tfjs.wasm.ok, true, report.tfjs.wasm.detail);
    assert.equal(typeof report.tfjs['tfjs-node'].installed, 'boolean');
    assert.equal(typeof report.gpu.nvidiaSmi, 'boolean');
    assert.deepEqual(Object.keys(report.datasets), ['fashion-mnist-mini', 'fashion-mnist', 'cifar10']);
    assert.equal(report.datasets['fashion-mnist-mini'].found, true);
    assert.ok('torch' in report.python && 'python3' in report.python);
    const known = (await loadMigrations()).at(-1)!.version;
    assert.deepEqual(
      { ...report.store, detail: undefined },
      { address: `sqlite:${path}`, ok: true, exists: true, schemaVersion: known, knownSchemaVersion: known, headPosition: String(events.length), detail: undefined },
    );
  });

  it('does not create a store that is not there', async () => {
    const path = join(dir, 'absent', 'none.db');
    const report = JSON.parse((await doctor('--json', '--store', `sqlite:${path}`)).stdout) as DoctorReport;
    assert.equal(report.store.ok, true);
    assert.equal(report.store.exists, false);
    assert.equal(existsSync(join(dir, 'absent')), false);
  });

  it('exits 1 on a corrupt store file and leaves it as it was', async () => {
    const notSqlite = join(dir, 'not-sqlite.db');
    await writeFile(notSqlite, 'these bytes are not a database\n'.repeat(100));
    const report = JSON.parse(await failingDoctor('--json', '--store', `sqlite:${notSqlite}`)) as DoctorReport;
    assert.equal(report.store.ok, false);
    assert.match(report.store.detail, /is not a SQLite database/);
    assert.equal(await readFile(notSqlite, 'utf8'), 'these bytes are not a database\n'.repeat(100));

    // A real store whose first page is overwritten past the header.
    const damaged = join(dir, 'damaged.db');
    await (await openSqliteStore(damaged)).close();
    const bytes = await readFile(damaged);
    bytes.fill(0xff, 16, 100);
    await writeFile(damaged, bytes);
    const text = await failingDoctor('--store', `sqlite:${damaged}`);
    assert.match(text, /^store +XX sqlite:.*damaged\.db: cannot read .*damaged\.db: /m);
    assert.deepEqual(await readFile(damaged), bytes);
    assert.deepEqual((await readdir(dir)).filter((name) => name.startsWith('damaged')), ['damaged.db']);
  });
});
