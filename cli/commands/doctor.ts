import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, freemem, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { hasCifarFiles } from '../../plugins/datasets/cifar10.ts';
import { hasIdxFiles } from '../../plugins/datasets/idx-directory.ts';
import { datasetLocations, FASHION_MNIST_MINI_DIR } from '../../plugins/datasets/resolve.ts';
import { torchPython } from '../../plugins/trainers/torch/torch-trainer.ts';
import { automaticBackend, type Availability, type WebGpuProbe } from '../../plugins/trainers/tfjs/backend-choice.ts';
import type { BackendChoice } from '../../plugins/trainers/tfjs/tf-runtime.ts';
import type { AdapterDescription } from '../../plugins/trainers/tfjs/webgpu-adapter.ts';
import { storeOption } from '../store-access.ts';
import { storeReport, type StoreReport } from './doctor-store.ts';

export type { StoreReport };

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Outcome {
  /** Set when the program could not run at all (ENOENT: not installed). */
  error: NodeJS.ErrnoException | null;
  status: number | null;
  stdout: string;
  stderr: string;
}

const execFileAsync = promisify(execFile);

/** Runs a program to completion without throwing: the probes run side by side, and a failure is a finding. */
async function probe(
  file: string,
  args: string[],
  options: { cwd?: string; timeout: number; killSignal?: NodeJS.Signals },
): Promise<Outcome> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { ...options, encoding: 'utf8' });
    return { error: null, status: 0, stdout, stderr };
  } catch (caught) {
    // execFile's error: a number `code` is the exit status; otherwise the program did not run (or was killed).
    const failure = caught as { code?: unknown; stdout?: string; stderr?: string };
    const output = { stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
    if (typeof failure.code === 'number') return { error: null, status: failure.code, ...output };
    return { error: caught as NodeJS.ErrnoException, status: null, ...output };
  }
}

export interface NativePackageReport {
  installed: boolean;
  version: string | null;
  /** Whether importing it worked; null when it was not tried. */
  loaded: boolean | null;
  detail: string;
}

export interface DoctorReport {
  node: { version: string; platform: string; arch: string };
  cpu: { cores: number; model: string };
  memory: { totalBytes: number; freeBytes: number };
  tfjs: {
    'tfjs-node-gpu': NativePackageReport;
    'tfjs-node': NativePackageReport;
    wasm: { ok: boolean; device: string | null; detail: string };
    webgpu: WebGpuReport;
  };
  /** What `loadTf()` without an argument would take here; null when a probe could not tell. */
  chosenBackend: BackendChoice | null;
  chosenBackendReason: string;
  gpu: { nvidiaSmi: boolean; gpus: string[]; detail: string };
  datasets: Record<'fashion-mnist-mini' | 'fashion-mnist' | 'cifar10', { found: boolean; path: string | null; looked: string[] }>;
  /** The Python of the torch trainer: its version, torch's, and the CUDA device torch sees. */
  python: { path: string; python3: string | null; torch: string | null; cuda: string | null; detail: string };
  store: StoreReport;
}

export interface WebGpuReport {
  /** Whether Dawn offers an adapter at all (a software one counts). */
  ok: boolean;
  adapter: AdapterDescription | null;
  /** Whether automatic backend choice would take it: hardware adapters only. */
  usable: boolean;
  /** Whether 1 + 1 through tfjs's webgpu backend gave 2 on it; null when not tried. */
  computes: boolean | null;
  detail: string;
}

function installedVersion(name: string): string | null {
  const require = createRequire(new URL('../../package.json', import.meta.url));
  try {
    return (require(`${name}/package.json`) as { version?: string }).version ?? 'unknown';
  } catch {
    return null;
  }
}

/**
 * Imports a native tfjs package in a child process: a libtensorflow that does not match the
 * machine can abort the process that loads it, and the doctor must still print its report.
 */
async function nativePackage(name: string, shouldLoad: boolean, whyNot: string): Promise<NativePackageReport> {
  const version = installedVersion(name);
  if (version === null)
    return {
      installed: false,
      version: null,
      loaded: null,
      detail: 'not installed (optional: its install step downloads libtensorflow)',
    };
  if (!shouldLoad) return { installed: true, version, loaded: null, detail: `installed, not loaded: ${whyNot}` };
  // The packages are CommonJS: their API may sit on the default export.
  const script = `const m = await import(${JSON.stringify(name)}); const tf = m.default ?? m; await tf.ready(); process.stdout.write(String(tf.getBackend()));`;
  const child = await probe(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, timeout: 60_000 });
  if (child.status === 0)
    return { installed: true, version, loaded: true, detail: `loads (backend ${child.stdout.trim() || 'unknown'})` };
  const why =
    child.error?.message ??
    child.stderr
      .trim()
      .split('\n')
      .find((line) => /error/i.test(line)) ??
    `exit ${child.status}`;
  return { installed: true, version, loaded: false, detail: `installed but does not load: ${why}` };
}

async function wasmBackend(): Promise<DoctorReport['tfjs']['wasm']> {
  try {
    const { loadTf } = await import('../../plugins/trainers/tfjs/tf-runtime.ts');
    const { tf, device } = await loadTf('wasm');
    const sum = tf.tidy(() => tf.add(tf.ones([2]), tf.ones([2])).dataSync());
    if (sum[0] !== 2) return { ok: false, device, detail: `loads but computes 1 + 1 = ${sum[0]}` };
    return { ok: true, device, detail: "loads, with nasnet's training kernels" };
  } catch (error) {
    return { ok: false, device: null, detail: (error as Error).message };
  }
}

/** How a WebGPU report whose probe crashed or hung begins: automatic choice cannot be told then. */
const PROBE_FAILED = 'the WebGPU probe ';
const probeFailed = (w: WebGpuReport): boolean => w.detail.startsWith(PROBE_FAILED);

const WEBGPU_TIMEOUT_MS = 60_000;
const WEBGPU_PROBE = fileURLToPath(new URL('../../plugins/trainers/tfjs/backend-choice.ts', import.meta.url));

/**
 * Lists the WebGPU adapter and runs a tiny tfjs op on it, both in a child process: Dawn is
 * native code talking to a Vulkan driver, and a driver that crashes or hangs must not take the
 * doctor with it; and loading tfjs's webgpu backend would make it the global tfjs backend of
 * this process, where wasmBackend() runs its check. Listing the adapter runs there too: it
 * loads the same driver, and one child costs one start. Dawn's warnings on stderr are ignored.
 */
async function webgpuBackend(): Promise<WebGpuReport> {
  const child = await probe(process.execPath, ['--import', 'tsx', WEBGPU_PROBE], {
    cwd: REPO_ROOT,
    timeout: WEBGPU_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  const found: WebGpuProbe = {};
  for (const line of child.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      Object.assign(found, JSON.parse(line) as WebGpuProbe);
    } catch {
      // A line cut short by a crash: what came before it stands.
    }
  }
  const adapter = found.adapter ?? null;
  let { computes = null, detail = '' } = found;
  if (child.status !== 0) {
    const failure = child.error as (NodeJS.ErrnoException & { killed?: boolean; signal?: string | null }) | null;
    const stderr = child.stderr.trim().split('\n');
    const why = !failure
      ? `failed (exit ${child.status}): ${stderr.find((line) => /^\w*Error\b/.test(line)) ?? stderr.at(-1) ?? ''}`
      : failure.killed
        ? `did not finish within ${WEBGPU_TIMEOUT_MS / 1000} s`
        : failure.signal
          ? `crashed (${failure.signal})`
          : failure.message.split('\n')[0];
    computes = adapter ? false : null;
    detail = `${PROBE_FAILED}${why}`;
  }
  if (!adapter)
    return { ok: false, adapter: null, usable: false, computes: null, detail: detail || `${PROBE_FAILED}printed nothing` };
  const usable = !adapter.software;
  if (computes !== true) return { ok: true, adapter, usable, computes, detail };
  return {
    ok: true,
    adapter,
    usable,
    computes,
    detail: usable ? 'hardware adapter, tfjs computes on it' : 'software adapter: not chosen automatically; use --backend webgpu',
  };
}

/** Feeds the doctor's findings to the rule `loadTf()` follows (see automaticBackend). */
function backendChoice(tfjs: DoctorReport['tfjs']): { chosenBackend: BackendChoice | null; chosenBackendReason: string } {
  const native = (p: NativePackageReport, name: string): Availability => ({
    available: p.loaded === true,
    why: p.loaded
      ? `${name} loads`
      : !p.installed
        ? `${name} is not installed`
        : p.loaded === false
          ? `${name} does not load`
          : `${name} is not loaded (${p.detail.replace(/^installed, not loaded: /, '')})`,
  });
  const { webgpu } = tfjs;
  const crashed = !webgpu.ok && probeFailed(webgpu);
  const availability: Record<BackendChoice, Availability> = {
    'tensorflow-gpu': native(tfjs['tfjs-node-gpu'], 'tfjs-node-gpu'),
    webgpu: {
      available: crashed ? null : webgpu.usable,
      why: crashed
        ? webgpu.detail
        : !webgpu.ok
          ? 'no WebGPU adapter'
          : !webgpu.usable
            ? 'the only WebGPU adapter is a software one'
            : webgpu.computes === false
              ? 'a hardware WebGPU adapter, though tfjs does not compute on it (see webgpu)'
              : 'a hardware WebGPU adapter',
    },
    tensorflow: native(tfjs['tfjs-node'], 'tfjs-node'),
    wasm: {
      available: tfjs.wasm.ok,
      why: tfjs.wasm.ok ? 'the WebAssembly backend loads' : 'the WebAssembly backend does not load',
    },
    cpu: { available: true, why: 'plain JavaScript always runs' },
  };
  const { backend, reason } = automaticBackend(availability);
  return { chosenBackend: backend, chosenBackendReason: reason };
}

async function gpu(): Promise<DoctorReport['gpu']> {
  const child = await probe('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'], {
    timeout: 15_000,
  });
  if (child.error)
    return {
      nvidiaSmi: false,
      gpus: [],
      detail: child.error.code === 'ENOENT' ? 'nvidia-smi not found: no NVIDIA driver' : child.error.message,
    };
  if (child.status !== 0)
    return {
      nvidiaSmi: true,
      gpus: [],
      detail: `nvidia-smi failed: ${child.stderr.trim() || child.stdout.trim() || `exit ${child.status}`}`,
    };
  const gpus = child.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return {
    nvidiaSmi: true,
    gpus,
    detail: gpus.length > 0 ? `${gpus.length} GPU${gpus.length === 1 ? '' : 's'}` : 'no GPU listed',
  };
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/** Presence only: loading Fashion-MNIST takes seconds, and `nasnet train` reports a broken copy precisely. */
function datasets(): DoctorReport['datasets'] {
  const named = (name: 'fashion-mnist' | 'cifar10') => {
    const has = name === 'fashion-mnist' ? hasIdxFiles : hasCifarFiles;
    const looked = datasetLocations(name).map((location) => location.dir);
    const path = looked.find((dir) => isDirectory(dir) && has(dir)) ?? null;
    return { found: path !== null, path, looked };
  };
  const mini = hasIdxFiles(FASHION_MNIST_MINI_DIR);
  return {
    'fashion-mnist-mini': { found: mini, path: mini ? FASHION_MNIST_MINI_DIR : null, looked: [FASHION_MNIST_MINI_DIR] },
    'fashion-mnist': named('fashion-mnist'),
    cifar10: named('cifar10'),
  };
}

const TORCH_PROBE = [
  'import sys',
  'print(sys.version.split()[0])',
  'try:',
  '  import torch',
  '  print(torch.__version__)',
  '  print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")',
  'except Exception as e:',
  '  print("")',
  '  print("")',
  '  print(e)',
].join('\n');

/** The Python the torch trainer runs (torchPython: $NASNET_PYTHON, else Debian's), and what it can do. */
async function python(): Promise<DoctorReport['python']> {
  const path = torchPython();
  const child = await probe(path, ['-c', TORCH_PROBE], { timeout: 60_000 });
  if (child.error || child.status !== 0) {
    return {
      path,
      python3: null,
      torch: null,
      cuda: null,
      detail: child.error ? `${path} not found (NASNET_PYTHON names another)` : `${path} failed: ${child.stderr.trim()}`,
    };
  }
  const [version = '', torch = '', cuda = '', why = ''] = child.stdout.split('\n');
  return {
    path,
    python3: version || null,
    torch: torch || null,
    cuda: cuda || null,
    detail: torch
      ? `--trainer torch can run, on ${cuda ? `CUDA (${cuda})` : 'the CPU (no CUDA device)'}; bench:train runs its PyTorch twin`
      : `torch not importable (${why || 'unknown'}): --trainer torch cannot run and bench:train skips its PyTorch twin (apt-get install python3-torch, or NASNET_PYTHON=<a python with torch>)`,
  };
}

export async function diagnose(storeAddress: string): Promise<DoctorReport> {
  // Python importing torch and a native tfjs load take seconds each: they run side by side.
  const gpuReport = gpu();
  const noGpu = gpuReport.then((report) => (report.gpus.length === 0 ? 'no NVIDIA GPU found, so it is not initialised' : ''));
  const [gpuDone, nodeGpu, nodeCpu, pythonReport, wasm, webgpu, store] = await Promise.all([
    gpuReport,
    noGpu.then((why) => nativePackage('@tensorflow/tfjs-node-gpu', why === '', why)),
    nativePackage('@tensorflow/tfjs-node', true, ''),
    python(),
    wasmBackend(),
    webgpuBackend(),
    storeReport(storeAddress),
  ]);
  const tfjs = { 'tfjs-node-gpu': nodeGpu, 'tfjs-node': nodeCpu, wasm, webgpu };
  return {
    node: { version: process.version, platform: process.platform, arch: process.arch },
    cpu: { cores: availableParallelism(), model: cpus()[0]?.model.trim() ?? 'unknown' },
    memory: { totalBytes: totalmem(), freeBytes: freemem() },
    tfjs,
    ...backendChoice(tfjs),
    gpu: gpuDone,
    datasets: datasets(),
    python: pythonReport,
    store,
  };
}

const GiB = 1024 ** 3;

/** `4 GiB`, `128 MiB`, `32 KiB`: WebGPU's limits are powers of two (give or take a byte). */
function bytes(n: number): string {
  const [unit, size] = (
    [
      ['GiB', GiB],
      ['MiB', 1024 ** 2],
      ['KiB', 1024],
    ] as const
  ).find(([, size]) => n >= size) ?? ['B', 1];
  return `${Number((n / size).toFixed(1))} ${unit}`;
}

function webgpuLine(w: WebGpuReport): string {
  const mark: Mark = !w.ok ? (probeFailed(w) ? 'XX' : '--') : w.computes === false ? 'XX' : 'ok';
  if (!w.adapter) return `  ${mark} webgpu: ${w.detail}`;
  const a = w.adapter;
  const name = a.description || a.device || 'unknown adapter';
  // Vulkan drivers often repeat the name as the device; lavapipe's device says its SIMD width.
  const what = [a.vendor, a.architecture, name.includes(a.device) ? '' : a.device].filter(Boolean).join(' ');
  const l = a.limits;
  const limits = `max buffer ${bytes(l.maxBufferSize)}, max storage binding ${bytes(l.maxStorageBufferBindingSize)}, workgroup storage ${bytes(l.maxComputeWorkgroupStorageSize)}, invocations ${l.maxComputeInvocationsPerWorkgroup}`;
  return `  ${mark} webgpu: ${name} (${what ? `${what}, ` : ''}${w.detail}) ${limits}`;
}

/** `ok`, `--` (absent; optional) or `XX` (present but broken, or the store unreadable). */
type Mark = 'ok' | '--' | 'XX';

function text(report: DoctorReport): string {
  const native = (p: NativePackageReport): Mark => (p.loaded === false ? 'XX' : p.installed ? 'ok' : '--');
  const { store } = report;
  const lines = [
    `node      ${report.node.version} (${report.node.platform} ${report.node.arch})`,
    `cpu       ${report.cpu.cores} cores (${report.cpu.model})`,
    `memory    ${(report.memory.totalBytes / GiB).toFixed(1)} GiB, ${(report.memory.freeBytes / GiB).toFixed(1)} GiB free`,
    `gpu       ${report.gpu.gpus.length > 0 ? 'ok' : report.gpu.nvidiaSmi ? 'XX' : '--'} ${report.gpu.detail}${report.gpu.gpus.map((g) => `\n             ${g}`).join('')}`,
    'tfjs',
    ...(['tfjs-node-gpu', 'tfjs-node'] as const).map((name) => {
      const p = report.tfjs[name];
      return `  ${native(p)} ${name}${p.version ? ` ${p.version}` : ''}: ${p.detail}`;
    }),
    `  ${report.tfjs.wasm.ok ? 'ok' : 'XX'} wasm: ${report.tfjs.wasm.detail}${report.tfjs.wasm.device ? ` (${report.tfjs.wasm.device})` : ''}`,
    webgpuLine(report.tfjs.webgpu),
    report.chosenBackend
      ? `backend   ${report.chosenBackend} (would be chosen automatically: ${report.chosenBackendReason})`
      : `backend   XX cannot tell which would be chosen automatically: ${report.chosenBackendReason}`,
    'datasets',
    ...Object.entries(report.datasets).map(
      ([name, d]) =>
        `  ${d.found ? 'ok' : '--'} ${name}: ${d.found ? d.path : `not found (looked in ${d.looked.join(', ') || 'nowhere: $NASNET_DATA is not set'})`}`,
    ),
    `python    ${report.python.torch ? 'ok' : '--'} ${report.python.python3 ? `${report.python.path} ${report.python.python3}, torch ${report.python.torch ?? 'not installed'}: ` : ''}${report.python.detail}`,
    `store     ${store.ok ? 'ok' : 'XX'} ${store.address}: ${store.detail}` +
      (store.headPosition !== null
        ? ` (schema ${store.schemaVersion ?? '-'}${store.knownSchemaVersion !== null ? ` of ${store.knownSchemaVersion}` : ''}, head position ${store.headPosition})`
        : ''),
  ];
  return `${lines.join('\n')}\n`;
}

/** `nasnet doctor`: what this machine can run, and whether the store opens. Exit 1 only when the store cannot be read. */
export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'report Node, cores, memory, tfjs backends (the WebGPU adapter, the one chosen automatically), GPU, datasets, PyTorch and the event store (exit 1 if the store cannot be opened)',
    )
    .addOption(storeOption())
    .option('--json', 'print the report as one JSON object', false)
    .action(async (options: { store: string; json: boolean }) => {
      const report = await diagnose(options.store);
      process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : text(report));
      if (!report.store.ok) process.exitCode = 1;
    });
}
