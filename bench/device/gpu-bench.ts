/**
 * The GPU check (bench/device/README.md), within one time budget, in parts run in the order
 * --parts gives:
 *   torch:  the torch trainer through the process trainer protocol (torch-part.ts): 100 random
 *           children at the small preset's fidelity, k processes sharing the GPU, then NASNet-A
 *           N=2 F=32 trained on all of Fashion-MNIST for the epochs that fit, and tested;
 *   webgpu: training speed of NASNet-A on WebGPU next to PyTorch CUDA (eager) built from the
 *           same network plan, then a full Fashion-MNIST training on WebGPU.
 * Runs bundled from the payload (bench/device/run.sh, from the repository's root: the torch
 * part and the PyTorch twin are read from the working tree) or from the repository:
 *   node --import tsx bench/device/gpu-bench.ts [--minutes 8.5] [--parts torch,webgpu]
 *     [--torch-minutes m] [--webgpu-minutes m] [--repo dir]
 *     [--children 100] [--children-workers 4] [--children-minutes 2] [--children-examples n]
 *     [--pilot-batches 40] [--configs 2x32,1x16]
 *     [--batches 128,256] [--steps 20] [--warmup 3] [--bench-minutes 3] [--step-gb 48]
 *     [--torch-device cuda] [--python python3] [--train 2x32] [--train-batch 128] [--lr r]
 *     [--epochs e] [--max-epochs 30] [--train-examples n] [--test-examples n]
 *     [--validation-fraction 0.02] [--data dir] [--torch-script path]
 *     [--allow-software] [--smoke] [--out file]
 * A part without its own --<part>-minutes gets its default share (torch 4.5, webgpu 4) when a
 * part follows it, else all that is left of --minutes. Configs are N×F, F the first stack's
 * filters (as bench:train's --filters); --train and the recipe flags serve both trainings.
 * --smoke shrinks everything to run on CPUs and accepts a software adapter (no GPU needed).
 * Writes one JSON object to --out, else $OUT/gpu-check.json when $OUT is set, else stdout;
 * the file is rewritten after every phase, so a run cut short still leaves what it measured.
 * Progress goes to stderr.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import type { TrainingResult } from '../../core/runtime/trainer-plugin.ts';
import type { Dataset } from '../../plugins/datasets/dataset.ts';
import { loadDataset } from '../../plugins/datasets/resolve.ts';
import { splitValidation } from '../../plugins/datasets/split.ts';
import { loadTf, type TfRuntime } from '../../plugins/trainers/tfjs/tf-runtime.ts';
import { microBatchSize, trainNetwork } from '../../plugins/trainers/tfjs/train-network.ts';
import { trainSettings, type TrainSettings } from '../../plugins/trainers/training-settings.ts';
import { nasnetPlan, round, timeTfjsSteps, timeTorchSteps, type StepTiming, type TorchTiming } from '../child-speed.ts';
import { runTorchPart, torchPartProblem } from './torch-part.ts';

const DEFAULTS = {
  // a device call is at most 10 minutes: 8.5 leaves a minute for unpacking and the exit
  minutes: '8.5',
  // the torch part first: it runs in child processes, while a failing Vulkan driver can take
  // the whole Node process down with Dawn
  parts: 'torch,webgpu',
  children: '100',
  'children-workers': '4',
  'children-minutes': '2',
  'children-examples': '0',
  'pilot-batches': '40',
  configs: '2x32,1x16',
  batches: '128,256',
  steps: '20',
  warmup: '3',
  'bench-minutes': '3',
  // The H200 holds 139 GB; the trainer's own 6 GB per step (tf-runtime.ts) would split N=2
  // F=32 batches into micro-batches of 35, and batch 256 would not be measured as such.
  'step-gb': '48',
  'torch-device': 'cuda',
  train: '2x32',
  'train-batch': '128',
  'max-epochs': '30',
  'train-examples': '0',
  'test-examples': '0',
  'validation-fraction': '0.02',
};
/** Seconds on lavapipe's CPU cores: the smallest network, a few steps, 512 training images. */
const SMOKE = {
  minutes: '15',
  children: '4',
  'children-workers': '2',
  'children-examples': '256',
  'pilot-batches': '2',
  'max-epochs': '2',
  configs: '1x4',
  batches: '8',
  steps: '2',
  warmup: '1',
  'bench-minutes': '5',
  'torch-device': 'cpu',
  train: '1x4',
  'train-batch': '32',
  'train-examples': '512',
  'test-examples': '256',
  'validation-fraction': '0.005',
};
/** A part's default minutes when another part follows it (the last one gets what is left). */
const PART_MINUTES = { 'torch-minutes': '4.5', 'webgpu-minutes': '4' };
const PARTS = ['torch', 'webgpu'] as const;
type Part = (typeof PARTS)[number];
const TARGET_RATIO = 0.3;
const TARGET_ACCURACY = 0.94;

const { values: given } = parseArgs({
  options: {
    ...Object.fromEntries(
      Object.keys({
        ...DEFAULTS,
        ...SMOKE,
        ...PART_MINUTES,
        epochs: '',
        lr: '',
        python: '',
        out: '',
        data: '',
        'torch-script': '',
        repo: '',
      }).map((name) => [name, { type: 'string' as const }]),
    ),
    'allow-software': { type: 'boolean' },
    smoke: { type: 'boolean' },
  },
});
const { smoke: smokeFlag, 'allow-software': allowSoftwareFlag, ...givenStrings } = given;
const smoke = smokeFlag === true;
const options: Record<string, string | undefined> = { ...DEFAULTS, ...(smoke ? SMOKE : {}), ...givenStrings };
const num = (name: string): number => {
  const value = Number(options[name]);
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`--${name} must be a number >= 0 (got ${options[name]})`);
  return value;
};
const parseConfig = (text: string): { N: number; filters: number } => {
  const match = /^(\d+)x(\d+)$/.exec(text.trim());
  if (!match) throw new RangeError(`a network is NxF, e.g. 2x32 (got ${text})`);
  return { N: Number(match[1]), filters: Number(match[2]) };
};
const torchDevice = options['torch-device'] === 'cpu' ? 'cpu' : 'cuda';
const allowSoftware = smoke || allowSoftwareFlag === true;
const started = performance.now();
const deadline = started + num('minutes') * 60_000;
const parts = options.parts!.split(',').map((p) => p.trim()) as Part[];
const unknownPart = parts.find((p) => !PARTS.includes(p));
if (unknownPart !== undefined) throw new RangeError(`--parts: unknown part ${unknownPart} (known: ${PARTS.join(', ')})`);
// the torch trainer and fashion-mnist-mini come from the working tree, also under the bundle
const repo = resolve(options.repo ?? process.cwd());
const log = (text: string) => process.stderr.write(`[gpu-bench ${((performance.now() - started) / 1000).toFixed(0)}s] ${text}\n`);

const outPath = options.out ?? (process.env['OUT'] ? join(process.env['OUT'], 'gpu-check.json') : null);
const report: Record<string, unknown> = {
  check:
    'nasnet GPU check: the torch trainer (search children, Fashion-MNIST accuracy) and NASNet-A training on WebGPU vs PyTorch CUDA',
  smoke,
  startedAt: new Date().toISOString(),
  settings: { ...options, parts, repo, allowSoftware, targetRatioAtBatch256: TARGET_RATIO, targetTestAccuracy: TARGET_ACCURACY },
  machine: {
    node: process.version,
    nodePath: process.execPath,
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    gpu: nvidiaSmi(),
  },
  environment: Object.fromEntries(
    ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES', 'LD_LIBRARY_PATH', 'NASNET_DATA'].map((name) => [name, process.env[name] ?? null]),
  ),
};
const save = () => {
  report['seconds'] = round((performance.now() - started) / 1000);
  if (outPath) {
    mkdirSync(dirname(outPath), { recursive: true });
    writeFileSync(outPath, `${JSON.stringify(report, null, 2)}\n`);
  }
};

function nvidiaSmi(): string | null {
  try {
    const query = 'name,driver_version,memory.total,clocks.max.sm';
    return execFileSync('nvidia-smi', [`--query-gpu=${query}`, '--format=csv,noheader'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 20_000,
    }).trim();
  } catch {
    return null;
  }
}

type WebGpu = { runtime: TfRuntime } | { reason: string };

async function startWebGpu(): Promise<WebGpu> {
  let runtime: TfRuntime;
  try {
    runtime = await loadTf('webgpu');
  } catch (error) {
    return { reason: (error as Error).message };
  }
  report['webgpu'] = { available: true, device: runtime.device, adapter: runtime.adapter };
  if (runtime.adapter?.software && !allowSoftware) {
    // the NVIDIA Vulkan driver was not found: lavapipe would take hours and measure nothing
    return { reason: `only a software adapter was found (${runtime.device}); the NVIDIA Vulkan driver (ICD) did not load` };
  }
  const stepBytes = options['step-gb'] === undefined ? runtime.memory.stepBytes : num('step-gb') * 1e9;
  runtime.memory = { ...runtime.memory, stepBytes };
  return { runtime };
}

interface Python {
  path: string;
  torch: string;
  cuda: boolean;
}

/** The first Python that imports torch: --python, $PYTHON, python3, /usr/bin/python3. */
function findPython(): Python | { reason: string } {
  const candidates = [options.python, process.env['PYTHON'], 'python3', '/usr/bin/python3'].filter((p): p is string =>
    Boolean(p),
  );
  const code = 'import json, torch; print(json.dumps({"torch": torch.__version__, "cuda": torch.cuda.is_available()}))';
  const tried: string[] = [];
  for (const path of new Set(candidates)) {
    const run = spawnSync(path, ['-c', code], { encoding: 'utf8', timeout: 120_000 });
    if (run.status === 0) return { path, ...(JSON.parse(run.stdout) as { torch: string; cuda: boolean }) };
    tried.push(`${path}: ${run.error?.message ?? run.stderr.trim().split('\n').at(-1)}`);
  }
  return { reason: `no Python with torch (${tried.join('; ')})` };
}

interface SpeedRow {
  N: number;
  filters: number;
  batchSize: number;
  params: number;
  /** The micro-batch the WebGPU step runs in (see microBatchSize); batchSize when it fits whole. */
  microBatch: number | null;
  webgpu: StepTiming | { error: string } | null;
  pytorch: TorchTiming | { error: string } | null;
  /** WebGPU images/s ÷ PyTorch images/s. */
  ratio: number | null;
}

async function measureSpeed(webgpu: WebGpu, python: Python | { reason: string }, until: number): Promise<SpeedRow[]> {
  const rows: SpeedRow[] = [];
  const benchDeadline = Math.min(until, performance.now() + num('bench-minutes') * 60_000);
  for (const config of options.configs!.split(',').map(parseConfig)) {
    const plan = nasnetPlan(config.N, config.filters);
    for (const batchSize of options.batches!.split(',').map(Number)) {
      const row: SpeedRow = { ...config, batchSize, params: 0, microBatch: null, webgpu: null, pytorch: null, ratio: null };
      rows.push(row);
      if (performance.now() > benchDeadline) {
        row.webgpu = row.pytorch = { error: 'skipped: --bench-minutes spent' };
        continue;
      }
      const timing = { steps: num('steps'), warmup: num('warmup'), batchSize };
      if ('runtime' in webgpu) {
        row.microBatch = microBatchSize(plan, batchSize, webgpu.runtime.memory);
        log(`webgpu N=${config.N} F=${config.filters} batch ${batchSize} (micro-batch ${row.microBatch})`);
        row.webgpu = await timeTfjsSteps(webgpu.runtime, plan, timing).catch((error: Error) => ({ error: error.message }));
        if ('params' in row.webgpu) row.params = row.webgpu.params;
      }
      if ('path' in python) {
        log(`pytorch ${torchDevice} N=${config.N} F=${config.filters} batch ${batchSize}`);
        row.pytorch = timeTorchSteps(plan, {
          ...timing,
          python: python.path,
          device: torchDevice,
          threads: torchDevice === 'cpu' ? 1 : cpus().length,
          cudnnBenchmark: torchDevice === 'cuda',
          script: torchChildScript(),
          timeoutMs: 300_000,
        });
        if ('params' in row.pytorch) row.params = row.pytorch.params;
      }
      if (row.webgpu && 'imagesPerSec' in row.webgpu && row.pytorch && 'imagesPerSec' in row.pytorch)
        row.ratio = round(row.webgpu.imagesPerSec / row.pytorch.imagesPerSec);
      log(`  webgpu ${JSON.stringify(row.webgpu)}; pytorch ${JSON.stringify(row.pytorch)}; ratio ${row.ratio}`);
      save();
    }
  }
  return rows;
}

function speedGoal(rows: SpeedRow[]) {
  const at256 = rows.filter((r) => r.batchSize === 256).map((r) => ({ N: r.N, filters: r.filters, ratio: r.ratio }));
  const measured = at256.length > 0 && at256.every((r) => r.ratio !== null);
  return {
    goal: `WebGPU >= ${TARGET_RATIO}x PyTorch ${torchDevice} images/s at batch 256`,
    at256,
    met: measured ? at256.every((r) => r.ratio! >= TARGET_RATIO) : null,
  };
}

function loadTrainingData(): Dataset {
  const dataset = loadDataset(options.data ?? 'fashion-mnist');
  const testExamples = num('test-examples');
  if (testExamples === 0 || testExamples >= dataset.test.count) return dataset;
  // a stratified subset, for the smoke run only: a software adapter takes minutes for 10,000
  return { ...dataset, test: splitValidation(dataset.test, { count: testExamples, seed: 1 }).validation };
}

/**
 * Epochs that fit the time left, from the speed measured for the training's network and
 * batch: cosine decay reaches 0 only if the run ends where it planned to. Evaluation passes
 * (forward only) are counted at half the training speed, training at 80% of the benchmark's,
 * for the data pipeline that the benchmark does not have. When not even one epoch fits, one
 * epoch over the training images that do (a subset: the accuracy is then no test of the goal).
 */
function plannedEpochs(
  rows: SpeedRow[],
  trainCount: number,
  otherImages: { perEpoch: number; atEnd: number },
  batchSize: number,
  network: { N: number; filters: number },
  secondsLeft: number,
): { epochs: number; trainCount: number; basis: string } {
  if (options.epochs !== undefined) return { epochs: Math.max(1, Math.round(num('epochs'))), trainCount, basis: '--epochs' };
  const row = rows.find(
    (r) =>
      r.N === network.N && r.filters === network.filters && r.batchSize === batchSize && r.webgpu && 'imagesPerSec' in r.webgpu,
  );
  if (!row) return { epochs: 1, trainCount, basis: 'no speed measured for this network and batch: 1 epoch' };
  const speed = (row.webgpu as StepTiming).imagesPerSec;
  const epochSeconds = trainCount / (0.8 * speed) + otherImages.perEpoch / (0.5 * speed);
  const available = secondsLeft - 20 - otherImages.atEnd / (0.5 * speed);
  const basis = `${speed} images/s measured at batch ${batchSize}: ${round(epochSeconds)} s per epoch, ${round(available)} s left`;
  const epochs = Math.min(num('max-epochs'), Math.floor(available / epochSeconds));
  if (epochs >= 1) return { epochs, trainCount, basis };
  const fits = Math.floor((available - otherImages.perEpoch / (0.5 * speed)) * 0.8 * speed);
  return { epochs: fits >= 10 * batchSize ? 1 : 0, trainCount: Math.max(0, fits), basis: `${basis}; one epoch on a subset` };
}

async function train(runtime: TfRuntime, rows: SpeedRow[], until: number): Promise<Record<string, unknown>> {
  const network = parseConfig(options.train!);
  const batchSize = num('train-batch');
  const dataset = loadTrainingData();
  const validationFraction = num('validation-fraction');
  const held = Math.round(dataset.train.count * validationFraction);
  const maxTrain = num('train-examples');
  const wanted = maxTrain > 0 ? Math.min(maxTrain, dataset.train.count - held) : dataset.train.count - held;
  const recalibration = 512;
  const plan = plannedEpochs(
    rows,
    wanted,
    { perEpoch: held + recalibration, atEnd: dataset.test.count },
    batchSize,
    network,
    (until - performance.now()) / 1000,
  );
  const base = {
    dataset: dataset.source,
    N: network.N,
    filters: network.filters,
    trainExamples: plan.trainCount,
    validationExamples: held,
    testExamples: dataset.test.count,
    epochsPlanned: plan.epochs,
    epochsBasis: plan.basis,
  };
  if (plan.epochs < 1) return { ...base, skipped: 'not enough time left to train' };
  // only a training on all of Fashion-MNIST, tested on all of its test set, answers the goal
  const whole = plan.trainCount === dataset.train.count - held && num('test-examples') === 0;
  // The paper preset's recipe (SGD, momentum 0.9, cosine, weight decay 5e-4), its rate 0.05 at
  // batch 64 scaled with the batch; crops of Fashion-MNIST padded by 2 (defaultAugmentation).
  const settings: TrainSettings = trainSettings({
    epochs: plan.epochs,
    batchSize,
    optimizer: 'sgd',
    learningRate: options.lr !== undefined ? num('lr') : 0.05 * (batchSize / 64),
    learningRateSchedule: 'cosine',
    momentum: 0.9,
    weightDecay: 5e-4,
    validationFraction,
    maxTrainExamples: plan.trainCount < dataset.train.count - held ? plan.trainCount : 0,
    augment: true,
    batchNormRecalibration: recalibration,
    evaluateTest: true,
    seed: 1,
  });
  const perEpoch: Array<Record<string, number>> = [];
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), Math.max(0, until - performance.now() - 5_000));
  log(`training N=${network.N} F=${network.filters} on ${plan.trainCount} images, ${plan.epochs} epochs (${plan.basis})`);
  const result = { ...base, settings, perEpoch } as Record<string, unknown>;
  try {
    const outcome: TrainingResult = await trainNetwork(
      runtime,
      dataset,
      {
        genotype: NASNET_A,
        N: network.N,
        filters: network.filters,
        stem: 'small',
        stemFilters: 3 * network.filters,
        dropPath: false,
        auxHead: false,
      },
      settings,
      {
        signal: abort.signal,
        progress: ({ epoch, metrics }) => {
          perEpoch.push({ epoch, seconds: round((performance.now() - started) / 1000), ...metrics });
          log(`  epoch ${epoch}: ${JSON.stringify(metrics)}`);
          save();
        },
      },
    );
    return {
      ...result,
      epochsDone: plan.epochs,
      stoppedAtBudget: false,
      ...outcome,
      goal: accuracyGoal(outcome.testAccuracy, whole),
    };
  } catch (error) {
    const last = perEpoch.at(-1);
    const stopped = abort.signal.aborted;
    return {
      ...result,
      epochsDone: perEpoch.length,
      stoppedAtBudget: stopped,
      validationAccuracy: last?.['validationAccuracy'] ?? null,
      testAccuracy: null,
      error: stopped ? 'stopped at the time budget (--minutes) before the test evaluation' : (error as Error).message,
      goal: accuracyGoal(null, whole),
    };
  } finally {
    clearTimeout(timer);
  }
}

const accuracyGoal = (testAccuracy: number | null, whole: boolean) => ({
  goal: `test accuracy >= ${TARGET_ACCURACY}, trained on all of Fashion-MNIST`,
  met: testAccuracy === null || !whole ? null : testAccuracy >= TARGET_ACCURACY,
});

/** bench/torch_child.py of the working tree: its PlanNetwork is the torch trainer's, imported from there. */
const torchChildScript = () => options['torch-script'] ?? join(repo, 'bench', 'torch_child.py');

/** When a part must end: its --<part>-minutes, else its default share, or all that is left when it is the last. */
function partDeadline(part: Part, index: number): number {
  const flag = `${part}-minutes` as const;
  const last = index === parts.length - 1;
  const minutes = options[flag] !== undefined ? num(flag) : last ? Infinity : Number(PART_MINUTES[flag]);
  return Math.min(deadline, performance.now() + minutes * 60_000);
}

async function webgpuPart(python: Python | { reason: string }, until: number): Promise<void> {
  const webgpu = await startWebGpu();
  if ('reason' in webgpu)
    report['webgpu'] = { ...(report['webgpu'] as object | undefined), available: false, reason: webgpu.reason };
  log(`webgpu: ${'runtime' in webgpu ? webgpu.runtime.device : `unavailable: ${webgpu.reason}`}`);
  save();
  const rows = await measureSpeed(webgpu, python, until);
  report['speed'] = rows;
  report['speedGoal'] = speedGoal(rows);
  save();
  report['training'] =
    'runtime' in webgpu
      ? await train(webgpu.runtime, rows, until).catch((error: Error) => ({ error: error.message }))
      : { skipped: `WebGPU unavailable: ${webgpu.reason}` };
}

async function torchPart(python: Python | { reason: string }, until: number): Promise<void> {
  const problem = 'path' in python ? torchPartProblem(repo) : python.reason;
  if (problem !== null || !('path' in python)) {
    report['torch'] = { skipped: problem };
    return;
  }
  const batchSize = num('train-batch');
  const update = (section: Record<string, unknown>) => {
    report['torch'] = section;
    save();
  };
  const context = { python: python.path, repo, device: torchDevice, cpus: cpus().length, log, update } as const;
  await runTorchPart(context, {
    deadline: until,
    children: {
      count: num('children'),
      workers: Math.max(1, num('children-workers')),
      minutes: num('children-minutes'),
      maxTrainExamples: num('children-examples'),
      seed: 1,
    },
    training: {
      network: parseConfig(options.train!),
      dataset: options.data ?? 'fashion-mnist',
      batchSize,
      learningRate: options.lr !== undefined ? num('lr') : 0.05 * (batchSize / 64),
      validationFraction: num('validation-fraction'),
      maxTrainExamples: num('train-examples'),
      maxEpochs: num('max-epochs'),
      epochs: options.epochs !== undefined ? Math.max(1, Math.round(num('epochs'))) : null,
      pilotBatches: Math.max(1, num('pilot-batches')),
    },
  });
}

async function main(): Promise<void> {
  log(`budget ${options.minutes} minutes, parts ${parts.join(', ')}${smoke ? ' (smoke run)' : ''}`);
  const found = findPython();
  const cudaMissing = 'path' in found && torchDevice === 'cuda' && !found.cuda;
  report['pytorch'] =
    'path' in found
      ? {
          available: !cudaMissing,
          python: found.path,
          torch: found.torch,
          cuda: found.cuda,
          device: torchDevice,
          ...(cudaMissing ? { reason: 'torch sees no CUDA device' } : {}),
        }
      : { available: false, reason: found.reason };
  log(`pytorch: ${JSON.stringify(report['pytorch'])}`);
  const python = cudaMissing ? { reason: 'torch sees no CUDA device' } : found;
  const timeline: Array<{ part: Part; budgetSeconds: number; seconds: number }> = [];
  report['parts'] = timeline;
  save();
  for (const [index, part] of parts.entries()) {
    const partStarted = performance.now();
    const until = partDeadline(part, index);
    log(`part ${part}: ${round((until - partStarted) / 1000)} s`);
    await (part === 'torch' ? torchPart(python, until) : webgpuPart(python, until)).catch((error: Error) => {
      report[`${part}Error`] = error.message;
    });
    timeline.push({
      part,
      budgetSeconds: round((until - partStarted) / 1000),
      seconds: round((performance.now() - partStarted) / 1000),
    });
    save();
  }
  const text = JSON.stringify(report, null, 2);
  if (outPath) log(`wrote ${outPath}`);
  else process.stdout.write(`${text}\n`);
}

await main();
// Dawn keeps the event loop alive
process.exit(0);
