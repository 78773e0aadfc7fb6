import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { TrainingFailure, type TrainingJob, type TrainingProgress } from '../../core/runtime/trainer-plugin.ts';
import { loadDataset } from '../../plugins/datasets/resolve.ts';
import { jobMessage } from '../../plugins/trainers/process/job-message.ts';
import { ProcessTrainer, processTrainerOptions } from '../../plugins/trainers/process/process-trainer.ts';
import { selectTrainingData } from '../../plugins/datasets/selection.ts';
import { trainSettings } from '../../plugins/trainers/training-settings.ts';

const FAKE = fileURLToPath(new URL('../support/fake-trainer.mjs', import.meta.url));
const NASNET = fileURLToPath(new URL('../../cli/nasnet.js', import.meta.url));
const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), 'nasnet-process-'));
after(() => rm(dir, { recursive: true, force: true }));

const job = (index = 0): TrainingJob => ({
  experimentId: 'p',
  sampleId: `p-${index}`,
  attempt: 1,
  genotype: NASNET_A,
  network: { N: 1, filters: 2 },
  dataset: 'fashion-mnist-mini',
  epochs: 1,
  seed: 3,
  dataSeed: 9,
  settings: { maxTrainExamples: 64, validationFraction: 0.05 },
});
const context = (signal = new AbortController().signal) => {
  const seen: TrainingProgress[] = [];
  return { signal, progress: (p: TrainingProgress) => seen.push(p), seen };
};
const made: ProcessTrainer[] = [];
after(() => Promise.all(made.map((trainer) => trainer.close())));
const processTrainer = (options: Record<string, unknown>) => {
  const trainer = new ProcessTrainer(processTrainerOptions(options, { name: 'process', backend: 'process' }));
  made.push(trainer);
  return trainer;
};
const fake = (mode: string, extra: Record<string, unknown> = {}) =>
  processTrainer({ command: [process.execPath, FAKE, mode], graceSeconds: 1, ...extra });
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const failsWith = async (promise: Promise<unknown>, pattern: RegExp, retryable: boolean) =>
  assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof TrainingFailure, `a TrainingFailure, not ${String(error)}`);
    assert.match(error.message, pattern);
    assert.equal(error.retryable, retryable, error.message);
    return true;
  });

describe('the process trainer protocol', () => {
  it('tells the program the plan, the examples and the settings the built-in trainer would use', () => {
    const dataset = loadDataset('fashion-mnist-mini');
    const settings = trainSettings({ epochs: 1, seed: 3, dataSeed: 9 }, job().settings);
    const { protocol, job: message } = jobMessage(job(), dataset, settings);
    assert.equal(protocol, 1);
    const selected = selectTrainingData(dataset.train, { validationFraction: 0.05, maxTrainExamples: 64, seed: 9 });
    assert.deepEqual(message.data.trainIndices, Array.from(selected.train));
    assert.deepEqual(message.data.validationIndices, Array.from(selected.validation));
    assert.equal(message.data.trainIndices.length, 64);
    assert.equal(
      new Set([...message.data.trainIndices, ...message.data.validationIndices]).size,
      64 + message.data.validationIndices.length,
      'no example both trained on and held out',
    );
    assert.equal(message.data.format, 'idx');
    for (const [key, file] of Object.entries(message.data.files))
      if (key !== 'format') assert.ok(existsSync(file as string), `${file} exists`);
    assert.deepEqual(message.data.augment, { padding: 2, flip: false });
    assert.equal(message.settings.batchNormRecalibration, 512);
    assert.ok(message.params > 0 && message.plan.nodes.length > 0);
    assert.ok(JSON.stringify(message).length < 1e6, 'one line, small enough for a pipe');
  });

  it('serves many jobs from one program when it says so, and one each otherwise', async () => {
    for (const [mode, processes] of [
      ['ok-many', 1],
      ['ok-one', 3],
    ] as const) {
      const trainer = fake(mode);
      const devices = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const ctx = context();
        const result = await trainer.train(job(i), ctx);
        assert.equal(result.validationAccuracy, 0.5);
        assert.deepEqual(ctx.seen, [{ epoch: 1, epochs: 1, metrics: { loss: 1 } }]);
        devices.add(result.device);
      }
      assert.equal(devices.size, processes, `${mode}: ${processes} process(es) for 3 jobs`);
      await trainer.close?.();
    }
  });

  it('turns every way a program can fail into a TrainingFailure with its stderr', async () => {
    await failsWith(
      fake('crash').train(job(), context()),
      /exited with code 3 before it wrote a result; its stderr ended with:\nboom: out of cheese/,
      true,
    );
    await failsWith(
      fake('garbage').train(job(), context()),
      /printed a line that is not JSON on stdout: "loading weights\.\.\." \(stdout carries protocol lines only; write logs to stderr\)/,
      false,
    );
    await failsWith(fake('no-result').train(job(), context()), /exited with code 0 before it wrote a result/, true);
    await failsWith(
      fake('schema').train(job(), context()),
      /result line that breaks protocol 1: result\.validationAccuracy must be <= 1/,
      false,
    );
    await failsWith(fake('failure').train(job(), context()), /^CUDA out of memory$/, true);
    await failsWith(fake('slow', { timeoutSeconds: 0.3 }).train(job(), context()), /wrote no result within 0\.3 s/, true);
    // a line after its result: the program cannot be trusted with another job, and is replaced
    const chatty = fake('chatty');
    const first = await chatty.train(job(), context());
    const second = await chatty.train(job(1), context());
    assert.notEqual(second.device, first.device, 'the next job went to a new process');
    await chatty.close?.();
  });

  it('stops a program on abort: SIGTERM to its process group, SIGKILL after the grace period', async () => {
    const pidFile = join(dir, 'abort.pid');
    const trainer = processTrainer({ command: [process.execPath, FAKE, 'slow', pidFile], graceSeconds: 1 });
    const controller = new AbortController();
    const training = trainer.train(job(), context(controller.signal));
    while (!existsSync(pidFile)) await new Promise((resolve) => setTimeout(resolve, 50));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(alive(pid));
    controller.abort();
    await assert.rejects(training, (error: unknown) => (error as Error).name === 'AbortError');
    for (let i = 0; i < 40 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(alive(pid), false, 'the program is gone');
  });

  it('checks its options, naming the one that is wrong', () => {
    assert.throws(
      () => processTrainer({}),
      /option command must be the program and its arguments .* \(got undefined\); on the command line: --trainer-command/,
    );
    assert.throws(() => processTrainer({ command: 'python3 x.py' }), /option command must be .* \(got "python3 x\.py"\)/);
    assert.throws(
      () => processTrainer({ command: ['/no/such/program'] }),
      /option command: no program "\/no\/such\/program" there/,
    );
    assert.throws(
      () => processTrainer({ command: ['no-such-program-here'] }),
      /option command: no program "no-such-program-here" on PATH/,
    );
    assert.throws(() => processTrainer({ command: ['x'], comand: 1 }), /unknown option "comand"/);
    assert.throws(() => processTrainer({ command: ['node'], batchSize: 0 }), /option batchSize .*\(got 0\)/);
    assert.throws(
      () => processTrainer({ command: ['node'], timeoutSeconds: -1 }),
      /timeoutSeconds must be a number of seconds >= 0 \(got -1\)/,
    );
  });
});

describe('nasnet search --trainer process', () => {
  it('runs a search with the plain-Python example, and audit and replay work on it', { timeout: 120_000 }, async () => {
    const store = `sqlite:${join(dir, 'example.db')}`;
    const search = await run(process.execPath, [
      NASNET,
      'search',
      '--trainer',
      'process',
      '--trainer-command',
      'python3 plugins/examples/process-trainer.py',
      '--samples',
      '8',
      '--batch',
      '4',
      '--workers',
      '2',
      '--store',
      store,
      '--experiment-id',
      'ex',
      '--json',
    ]);
    const summary = JSON.parse(search.stdout.trim().split('\n').at(-1)!) as {
      status: string;
      completed: number;
      bestReward: number;
    };
    assert.equal(summary.status, 'completed');
    assert.equal(summary.completed, 8);
    assert.ok(summary.bestReward >= 0 && summary.bestReward <= 1);
    const events = await run(process.execPath, [NASNET, 'events', '--store', store, '--type', 'TrainingCompleted']);
    for (const line of events.stdout.trim().split('\n'))
      assert.equal((JSON.parse(line) as { data: { backend: string } }).data.backend, 'python');
    const audit = await run(process.execPath, [NASNET, 'audit', 'ex', '--store', store, '--json']);
    assert.equal((JSON.parse(audit.stdout) as { ok: boolean }).ok, true);
    await run(process.execPath, [NASNET, 'replay', '--store', store]);
  });

  it('refuses --trainer-command without --trainer process, and a command with a pipe', async () => {
    for (const [args, pattern] of [
      [['--trainer-command', 'python3 x.py'], /--trainer-command applies to --trainer process only \(the trainer is "tfjs"\)/],
      [
        ['--trainer', 'process', '--trainer-command', 'python3 x.py | tee log'],
        /--trainer-command must be a program and its arguments, .* got "python3 x\.py \| tee log"/,
      ],
    ] as const) {
      await assert.rejects(
        run(process.execPath, [NASNET, 'search', ...args, '--store', `sqlite:${join(dir, 'never.db')}`]),
        (error: { stderr: string }) => {
          assert.match(error.stderr, pattern);
          return true;
        },
      );
    }
    assert.equal(existsSync(join(dir, 'never.db')), false, 'nothing written');
  });

  it('leaves no orphan program when the worker is killed with SIGKILL mid-training', { timeout: 60_000 }, async () => {
    const pidFile = join(dir, 'orphan.pid');
    const store = `sqlite:${join(dir, 'orphan.db')}`;
    const search = spawn(
      process.execPath,
      [
        NASNET,
        'search',
        '--trainer',
        'process',
        '--trainer-command',
        `${process.execPath} ${FAKE} slow ${pidFile}`,
        '--samples',
        '2',
        '--batch',
        '2',
        '--workers',
        '1',
        '--store',
        store,
        '--json',
      ],
      { stdio: 'ignore' },
    );
    while (!existsSync(pidFile)) await new Promise((resolve) => setTimeout(resolve, 50));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    search.kill('SIGKILL');
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(alive(pid), false, 'the trainer program died with the worker');
  });
});
