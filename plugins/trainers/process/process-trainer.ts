import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import type {
  TrainerContext,
  TrainerFactory,
  TrainerPlugin,
  TrainingJob,
  TrainingResult,
} from '../../../core/runtime/trainer-plugin.ts';
import { cachedDatasetLoader } from '../../datasets/resolve.ts';
import { DEFAULT_SETTING_KEYS, jobSettings, settingDefaults } from '../training-settings.ts';
import { jobMessage } from './job-message.ts';
import { TrainerProcess, type ProcessSpec } from './trainer-process.ts';

/**
 * `--trainer process`: each job goes to a program in any language over the process protocol
 * (protocol.ts). The program never sees the store: the runtime records what it reports.
 * Programs that say `jobs: "many"` are kept for the next job; the others get one job each.
 */
export interface ProcessTrainerOptions {
  /** The plugin's name in the events (`process`, or `torch` for the built-in PyTorch trainer). */
  name: string;
  /** Backend recorded when a trial is claimed, before the program has said anything. */
  backend: string;
  spec: ProcessSpec;
  /** A job with no result after this long fails (retryable); 0: no limit. */
  timeoutMs: number;
  /** Training settings for every job (under the job's own). */
  defaults: Record<string, unknown>;
}

const OPTION_KEYS = ['command', 'env', 'cwd', 'timeoutSeconds', 'graceSeconds', ...DEFAULT_SETTING_KEYS];

export class ProcessTrainer implements TrainerPlugin {
  readonly name: string;
  private readonly idle: TrainerProcess[] = [];
  private readonly dataset = cachedDatasetLoader();

  constructor(private readonly options: ProcessTrainerOptions) {
    this.name = options.name;
  }

  async describe(): Promise<{ backend: string; device: string }> {
    return { backend: this.options.backend, device: `process: ${this.options.spec.command.join(' ')}` };
  }

  async train(job: TrainingJob, context: TrainerContext): Promise<TrainingResult> {
    const message = jobMessage(job, this.dataset(job.dataset), jobSettings(this.options.defaults, job));
    const program = this.idle.pop() ?? new TrainerProcess(this.options.spec);
    try {
      return await program.run(message, context, this.options.timeoutMs);
    } finally {
      if (program.reusable) this.idle.push(program);
      else void program.stop();
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.idle.splice(0).map((program) => program.stop()));
  }
}

/** The program's path: as given when it names a directory, else found on PATH, as a shell would. */
function findProgram(program: string, cwd: string, path = process.env.PATH ?? ''): string | null {
  const runnable = (file: string) => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (program.includes('/')) return runnable(resolve(cwd, program)) ? resolve(cwd, program) : null;
  return (
    path
      .split(delimiter)
      .map((dir) => join(dir || '.', program))
      .find(runnable) ?? null
  );
}

function fail(reason: string): never {
  throw new RangeError(`process trainer: ${reason}`);
}

function seconds(options: Record<string, unknown>, key: string, fallback: number): number {
  const value = options[key] ?? fallback;
  if (typeof value !== 'number' || !(value >= 0))
    fail(`option ${key} must be a number of seconds >= 0 (got ${JSON.stringify(value)})`);
  return value * 1000;
}

/** Checks the options a config file or the command line gave, naming the one that is wrong. */
export function processTrainerOptions(
  options: Record<string, unknown>,
  identity: { name: string; backend: string },
): ProcessTrainerOptions {
  const unknown = Object.keys(options).find((key) => !OPTION_KEYS.includes(key));
  if (unknown !== undefined) fail(`unknown option ${JSON.stringify(unknown)} (known: ${OPTION_KEYS.join(', ')})`);
  const { command, env = {}, cwd = process.cwd() } = options;
  if (!Array.isArray(command) || command.length === 0 || !command.every((part) => typeof part === 'string' && part.length > 0)) {
    fail(
      `option command must be the program and its arguments as a non-empty list of strings, e.g. ["python3", "my_trainer.py"] (got ${JSON.stringify(command)}); on the command line: --trainer-command "python3 my_trainer.py"`,
    );
  }
  if (typeof env !== 'object' || env === null || Array.isArray(env) || !Object.values(env).every((v) => typeof v === 'string')) {
    fail(`option env must be an object of strings (got ${JSON.stringify(env)})`);
  }
  if (typeof cwd !== 'string' || cwd.length === 0) fail(`option cwd must be a directory (got ${JSON.stringify(cwd)})`);
  const program = (command as string[])[0]!;
  if (findProgram(program, cwd) === null)
    fail(
      `option command: no program ${JSON.stringify(program)} ${program.includes('/') ? 'there (or it is not executable)' : 'on PATH'}`,
    );
  const defaults = settingDefaults(options, 'process trainer:');
  return {
    ...identity,
    spec: {
      command: command as string[],
      env: env as Record<string, string>,
      cwd,
      graceMs: seconds(options, 'graceSeconds', 10),
    },
    timeoutMs: seconds(options, 'timeoutSeconds', 0),
    defaults,
  };
}

export const createTrainer: TrainerFactory = ({ options }) =>
  new ProcessTrainer(processTrainerOptions(options, { name: 'process', backend: 'process' }));
