import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { NasnetEvent, RecordedEvent } from '../../core/events/event.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { createThreadAuditor } from '../../cli/audit-thread.ts';
import { openSqliteStore } from '../../core/store/sqlite/sqlite-store.ts';
import { targetSimilarity } from '../../plugins/trainers/synthetic/target-similarity.ts';
import { simulateExperiment } from '../support/simulate.ts';

const NASNET = fileURLToPath(new URL('../../cli/nasnet.js', import.meta.url));
const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), 'nasnet-cli-audit-'));
after(() => rm(dir, { recursive: true, force: true }));

async function storeWith(name: string, events: RecordedEvent[]): Promise<string> {
  const path = join(dir, `${name}.db`);
  const store = await openSqliteStore(path);
  for (const { stream, revision, position: _p, ...event } of events) {
    await store.append(stream, [event as NasnetEvent], revision === 0n ? 'no_stream' : revision - 1n);
  }
  await store.close();
  return `sqlite:${path}`;
}

describe('nasnet audit and nasnet genotype', () => {
  const log = simulateExperiment({
    experimentId: 'cli',
    strategy: 'ppo',
    seed: 5,
    batches: 2,
    reward: targetSimilarity(NASNET_A),
    controller: { batchSize: 4, ppoEpochs: 1 },
  });
  let good: string;
  let bad: string;
  before(async () => {
    good = await storeWith('good', log);
    const tampered = log.map((e) => structuredClone(e));
    const update = tampered.find((e) => e.type === 'PolicyUpdated')!;
    if (update.type === 'PolicyUpdated') update.data.paramsDigestAfter = '0'.repeat(64);
    bad = await storeWith('bad', tampered);
  });

  it('passes an intact experiment and prints the JSON report', async () => {
    const { stdout } = await run(NASNET, ['audit', 'cli', '--store', good, '--json']);
    const { position, ...report } = JSON.parse(stdout) as { position: string };
    assert.deepEqual(report, { ok: true, checkedSamples: 8, checkedUpdates: 2, firstDivergence: null });
    assert.match(position, /^[1-9]\d*$/, 'the last event it read');
  });

  it('exits 1 and names the first divergence of a tampered one', async () => {
    await assert.rejects(run(NASNET, ['audit', 'cli', '--store', bad]), (error: { code: number; stdout: string }) => {
      assert.equal(error.code, 1);
      assert.match(error.stdout, /audit FAILED at position \d+ \(PolicyUpdated\): paramsDigestAfter of PolicyUpdated v1/);
      assert.match(error.stdout, /found: {4}"0{64}"/);
      return true;
    });
    await assert.rejects(run(NASNET, ['audit', 'nothing', '--store', good]), /no events of experiment "nothing"/);
  });

  it('audits in a worker thread (what nasnet serve uses) with the same reports as in-process', async () => {
    const auditor = createThreadAuditor(good);
    try {
      const { position: _position, ...report } = await auditor.audit('cli');
      assert.deepEqual(report, { ok: true, checkedSamples: 8, checkedUpdates: 2, firstDivergence: null, from: '0' });
      await assert.rejects(auditor.audit('nothing'), /no events of experiment "nothing"/);
    } finally {
      await auditor.close();
    }
    const tampered = createThreadAuditor(bad);
    try {
      const report = await tampered.audit('cli');
      assert.equal(report.ok, false);
      assert.equal(report.firstDivergence!.what, 'paramsDigestAfter of PolicyUpdated v1');
    } finally {
      await tampered.close();
    }
  });

  it('renders and checks genotypes', async () => {
    const text = (await run(NASNET, ['genotype', 'nasnet-a'])).stdout;
    assert.match(text, /^normal cell:\n {2}b0 = sep_conv5x5\(h\[i\]\) \+ sep_conv3x3\(h\[i-1\]\)/);
    assert.match((await run(NASNET, ['genotype', 'nasnet-a', '--format', 'hash'])).stdout, /^[0-9a-f]{16}\n$/);
    const file = join(dir, 'cell.json');
    await writeFile(
      file,
      JSON.stringify({ ...NASNET_A, normal: [...NASNET_A.normal.slice(0, 4), ['sep_conv3x3', 6, 'identity', 0, 'add']] }),
    );
    await assert.rejects(run(NASNET, ['genotype', file]), /normal cell, block 4, inputA: must be <= 5 \(got 6\)/);
    // DARTS interchange: the export reads back as the same cell pair, as a file or as the text itself
    const darts = (await run(NASNET, ['genotype', 'nasnet-a', '--format', 'darts'])).stdout;
    assert.match(darts, /^Genotype\(normal=\[\('sep_conv_5x5', 1\), \('sep_conv_3x3', 0\), /);
    const dartsFile = join(dir, 'nasnet.genotype.py');
    await writeFile(dartsFile, darts);
    assert.deepEqual(JSON.parse((await run(NASNET, ['genotype', dartsFile, '--format', 'json'])).stdout), NASNET_A);
    assert.equal((await run(NASNET, ['genotype', darts.trim(), '--format', 'darts'])).stdout, darts);
    await assert.rejects(
      run(NASNET, ['genotype', darts.replace("('sep_conv_3x3', 0)", "('none', 0)")]),
      /normal cell, block 0, opB: DARTS op none is not one of nasnet's 13 operations/,
    );
    await assert.rejects(
      run(NASNET, ['genotype', 'nasnet-a', '--format', 'png']),
      /--format must be one of text, json, dot, darts, hash, canonical/,
    );
  });
});
