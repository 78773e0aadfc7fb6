import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { DoctorReport } from '../../cli/commands/doctor.ts';
import { openSqliteStore } from '../../core/store/sqlite/sqlite-store.ts';
import { openPostgresStore } from '../../core/store/postgres/postgres-store.ts';
import { loadMigrations } from '../../core/store/sqlite/migrate.ts';
import { automaticBackend, type Availability } from '../../plugins/trainers/tfjs/backend-choice.ts';
import { BACKENDS, type BackendChoice } from '../../plugins/trainers/tfjs/tf-runtime.ts';
import { exampleOfEveryType, experimentCreated } from '../support/events.ts';
import { adminClient, dropSchema, freshSchema, inSchema, NO_PG_SERVER, PG_URL } from '../support/postgres.ts';

const NASNET = fileURLToPath(new URL('../../cli/nasnet.js', import.meta.url));
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
    const events = exampleOfEveryType('doc').filter(
      (event) => event.type === 'ExperimentCreated' || event.type === 'ControllerInitialized',
    );
    await store.append('experiment-doc', events, 'no_stream');
    await store.close();

    const report = JSON.parse((await doctor('--json', '--store', `sqlite:${path}`)).stdout) as DoctorReport;
    assert.deepEqual(Object.keys(report), [
      'node',
      'cpu',
      'memory',
      'tfjs',
      'chosenBackend',
      'chosenBackendReason',
      'gpu',
      'datasets',
      'python',
      'store',
    ]);
    assert.equal(report.node.version, process.version);
    assert.ok(report.cpu.cores >= 1 && report.memory.totalBytes > 0);
    assert.deepEqual(Object.keys(report.tfjs), ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'webgpu']);
    // The WebGPU probe runs in a child process: the wasm check in the doctor's own process still passes.
    assert.equal(report.tfjs.wasm.ok, true, report.tfjs.wasm.detail);
    assert.equal(typeof report.tfjs['tfjs-node'].installed, 'boolean');
    const { webgpu } = report.tfjs;
    assert.deepEqual(Object.keys(webgpu), ['ok', 'adapter', 'usable', 'computes', 'detail']);
    if (webgpu.ok) {
      // A machine with an adapter; here, Mesa's lavapipe: a software one, which computes but is not chosen automatically.
      const adapter = webgpu.adapter!;
      assert.deepEqual(Object.keys(adapter.limits).sort(), [
        'maxBufferSize',
        'maxComputeInvocationsPerWorkgroup',
        'maxComputeWorkgroupStorageSize',
        'maxComputeWorkgroupsPerDimension',
        'maxStorageBufferBindingSize',
      ]);
      assert.ok(adapter.limits.maxStorageBufferBindingSize > 0);
      assert.equal(webgpu.usable, !adapter.software);
      assert.equal(webgpu.computes, true, webgpu.detail);
      if (adapter.software) assert.match(webgpu.detail, /not chosen automatically; use --backend webgpu/);
    } else {
      // No adapter (no Vulkan driver, or Dawn did not load): the report says why, and nothing was computed.
      assert.deepEqual(
        { ...webgpu, detail: undefined },
        { ok: false, adapter: null, usable: false, computes: null, detail: undefined },
      );
      assert.match(webgpu.detail, /no WebGPU adapter|Dawn .* did not load/);
    }
    // The rule loadTf() follows, spelt out: tfjs-node-gpu, a hardware WebGPU adapter, tfjs-node, wasm, plain JS.
    const expected = report.tfjs['tfjs-node-gpu'].loaded
      ? 'tensorflow-gpu'
      : webgpu.usable
        ? 'webgpu'
        : report.tfjs['tfjs-node'].loaded
          ? 'tensorflow'
          : 'wasm';
    assert.equal(report.chosenBackend, expected, report.chosenBackendReason);
    if (webgpu.ok && webgpu.adapter!.software && !report.tfjs['tfjs-node'].installed) {
      assert.equal(report.chosenBackend, 'wasm');
      assert.match(report.chosenBackendReason, /the only WebGPU adapter is a software one/);
    }
    assert.equal(typeof report.gpu.nvidiaSmi, 'boolean');
    assert.deepEqual(Object.keys(report.datasets), ['fashion-mnist-mini', 'fashion-mnist', 'cifar10']);
    assert.equal(report.datasets['fashion-mnist-mini'].found, true);
    assert.ok('torch' in report.python && 'python3' in report.python && 'cuda' in report.python);
    if (report.python.torch) assert.match(report.python.detail, /--trainer torch can run, on (CUDA|the CPU)/);
    const known = (await loadMigrations()).at(-1)!.version;
    assert.deepEqual(
      { ...report.store, detail: undefined },
      {
        address: `sqlite:${path}`,
        ok: true,
        exists: true,
        schemaVersion: known,
        knownSchemaVersion: known,
        headPosition: String(events.length),
        detail: undefined,
      },
    );
  });

  it('takes the first available backend in the order of BACKENDS, and cannot tell past a probe that failed', () => {
    const none = (why: string): Availability => ({ available: false, why });
    const all = Object.fromEntries(BACKENDS.map((choice) => [choice, none(`no ${choice}`)])) as Record<
      BackendChoice,
      Availability
    >;
    assert.deepEqual(automaticBackend({ ...all, cpu: { available: true, why: 'js' } }), {
      backend: 'cpu',
      reason: 'no tensorflow-gpu, no webgpu, no tensorflow, no wasm; js',
    });
    // Each backend wins over every one after it.
    for (const [index, choice] of BACKENDS.entries()) {
      const from = Object.fromEntries(BACKENDS.map((c, i) => [c, { available: i >= index, why: c }])) as Record<
        BackendChoice,
        Availability
      >;
      assert.equal(automaticBackend(from).backend, choice);
    }
    const crashed = { ...all, webgpu: { available: null, why: 'the probe crashed' }, wasm: { available: true, why: 'wasm' } };
    assert.deepEqual(automaticBackend(crashed), {
      backend: null,
      reason: 'no tensorflow-gpu, cannot tell whether webgpu would start: the probe crashed',
    });
    assert.equal(automaticBackend({ ...crashed, 'tensorflow-gpu': { available: true, why: 'cuda' } }).backend, 'tensorflow-gpu');
  });

  it('does not create a store that is not there', async () => {
    const path = join(dir, 'absent', 'none.db');
    const report = JSON.parse((await doctor('--json', '--store', `sqlite:${path}`)).stdout) as DoctorReport;
    assert.equal(report.store.ok, true);
    assert.equal(report.store.exists, false);
    assert.equal(existsSync(join(dir, 'absent')), false);
  });

  it('looks at a PostgreSQL store without creating its schema, then reports its version and head', {
    skip: PG_URL ? false : NO_PG_SERVER,
  }, async () => {
    const url = PG_URL!;
    const schema = freshSchema('doctor');
    const address = inSchema(url, schema);
    const admin = await adminClient(url);
    try {
      const before = JSON.parse((await doctor('--json', '--store', address)).stdout) as DoctorReport;
      assert.deepEqual([before.store.ok, before.store.exists, before.store.knownSchemaVersion], [true, false, 1]);
      const found = await admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      assert.equal(found.rowCount, 0, 'the doctor created nothing');
      const store = await openPostgresStore(address);
      const { positions } = await store.append('experiment-doc', [experimentCreated('doc')], 'no_stream');
      await store.close();
      const after = JSON.parse((await doctor('--json', '--store', address)).stdout) as DoctorReport;
      assert.deepEqual(
        [after.store.ok, after.store.exists, after.store.schemaVersion, after.store.headPosition],
        [true, true, 1, String(positions[0])],
      );
    } finally {
      await admin.end();
      await dropSchema(url, schema);
    }
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
    assert.match(text, /^  (ok|--|XX) webgpu: \S/m);
    assert.match(text, /^backend   (tensorflow-gpu|webgpu|tensorflow|wasm|cpu) \(would be chosen automatically: .+\)$/m);
    assert.deepEqual(await readFile(damaged), bytes);
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.startsWith('damaged')),
      ['damaged.db'],
    );
  });
});
