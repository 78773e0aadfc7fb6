/**
 * Children per hour of a search, trainer against trainer: the same preset, seed and workers,
 * run end to end by the CLI (controller, store, workers, trainer) once per trainer.
 *   npm run bench:trainers -- --json [--preset demo] [--trainers tfjs,torch] [--workers 2]
 *     [--seed 1] [--samples n]
 * Each run is `nasnet search --json --store sqlite:<temporary file>`; images/s, rewards and the
 * device come from that store's TrainingCompleted events (`nasnet events`), so they are what
 * the trainers reported to the runtime. Prints one JSON object (--json) or a table; the
 * searches' own output goes to stderr.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'demo' },
    trainers: { type: 'string', default: 'tfjs,torch' },
    workers: { type: 'string', default: '2' },
    seed: { type: 'string', default: '1' },
    samples: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const CLI = fileURLToPath(new URL('../cli/nasnet.js', import.meta.url));
const trainers = values.trainers!.split(',').map((t) => t.trim());

interface Completed {
  validationAccuracy: number;
  imagesPerSec: number;
  seconds: number;
  device: string;
  backend: string;
}

interface TrainerRow {
  trainer: string;
  /** Wall time of the whole `nasnet search` command, start-up included. */
  seconds: number;
  /** The search's own seconds, from its summary line. */
  searchSeconds: number | null;
  /** Children trained (TrainingCompleted); samples rewarded by reuse are not counted. */
  children: number;
  samples: number | null;
  childrenPerHour: number;
  meanImagesPerSec: number | null;
  meanChildSeconds: number | null;
  bestReward: number | null;
  meanReward: number | null;
  device: string[];
  backend: string[];
}

/** Runs the CLI; resolves with its stdout, its stderr passed through to ours. */
function cli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`nasnet ${args[0]} exited with ${code}`))));
  });
}

const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
const round = (x: number) => Number(x.toPrecision(4));
const mean = (xs: number[]) => (xs.length > 0 ? round(xs.reduce((a, b) => a + b, 0) / xs.length) : null);

async function benchTrainer(trainer: string, dir: string): Promise<TrainerRow> {
  const store = `sqlite:${join(dir, `${trainer.replaceAll(/[^\w-]/g, '_')}.db`)}`;
  const args = [
    'search',
    '--preset',
    values.preset!,
    '--trainer',
    trainer,
    '--workers',
    values.workers!,
    '--seed',
    values.seed!,
    '--json',
    '--store',
    store,
  ];
  if (values.samples !== undefined) args.push('--samples', values.samples);
  process.stderr.write(`[bench:trainers] nasnet ${args.join(' ')}\n`);
  const started = performance.now();
  const summary = jsonLines(await cli(args)).at(-1) ?? {};
  const seconds = (performance.now() - started) / 1000;
  const completed = jsonLines(await cli(['events', '--store', store, '--type', 'TrainingCompleted'])).map(
    (event) => event['data'] as Completed,
  );
  const rewards = completed.map((c) => c.validationAccuracy);
  return {
    trainer,
    seconds: round(seconds),
    searchSeconds: typeof summary['seconds'] === 'number' ? summary['seconds'] : null,
    children: completed.length,
    samples: typeof summary['completed'] === 'number' ? summary['completed'] : null,
    childrenPerHour: round((completed.length / seconds) * 3600),
    meanImagesPerSec: mean(completed.map((c) => c.imagesPerSec)),
    meanChildSeconds: mean(completed.map((c) => c.seconds)),
    bestReward: rewards.length > 0 ? round(Math.max(...rewards)) : null,
    meanReward: mean(rewards),
    device: [...new Set(completed.map((c) => c.device))],
    backend: [...new Set(completed.map((c) => c.backend))],
  };
}

/** torch ÷ tfjs of the two speeds, when both ran. */
function ratio(rows: Array<TrainerRow | { trainer: string; error: string }>): Record<string, number | null> | null {
  const find = (name: string) => rows.find((r): r is TrainerRow => r.trainer === name && !('error' in r));
  const [torch, tfjs] = [find('torch'), find('tfjs')];
  if (!torch || !tfjs) return null;
  const over = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? round(a / b) : null);
  return {
    childrenPerHour: over(torch.childrenPerHour, tfjs.childrenPerHour),
    meanImagesPerSec: over(torch.meanImagesPerSec, tfjs.meanImagesPerSec),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nasnet-bench-trainers-'));
  const rows: Array<TrainerRow | { trainer: string; error: string }> = [];
  try {
    // one after the other: running both at once would halve each one's CPUs
    for (const trainer of trainers)
      rows.push(await benchTrainer(trainer, dir).catch((error: Error) => ({ trainer, error: error.message })));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const report = {
    preset: values.preset,
    workers: Number(values.workers),
    seed: Number(values.seed),
    samples: values.samples ?? null,
    trainers: rows,
    torchOverTfjs: ratio(rows),
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  for (const row of rows) {
    process.stdout.write(
      'error' in row
        ? `${row.trainer}: ${row.error}\n`
        : `${row.trainer}: ${row.children} children in ${row.seconds} s = ${row.childrenPerHour}/hour, ${row.meanImagesPerSec} images/s, best reward ${row.bestReward}, mean ${row.meanReward} (${row.device.join(', ')})\n`,
    );
  }
  if (report.torchOverTfjs) process.stdout.write(`torch / tfjs: ${JSON.stringify(report.torchOverTfjs)}\n`);
}

await main();
