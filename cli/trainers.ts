import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TrainerFactory, TrainerOptions, TrainerPlugin } from '../core/runtime/trainer-plugin.ts';
import { describeValue } from '../core/events/json.ts';

/**
 * Built-in trainers, loaded on demand: `synthetic` must not pay for loading tfjs, and a
 * machine without tfjs-node still runs `--trainer synthetic`.
 */
const BUILT_IN: ReadonlyMap<string, () => Promise<TrainerFactory>> = new Map([
  ['tfjs', async () => (await import('../plugins/trainers/tfjs/tfjs-trainer.ts')).createTrainer],
  ['synthetic', async () => (await import('../plugins/trainers/synthetic/synthetic-trainer.ts')).createTrainer],
  ['process', async () => (await import('../plugins/trainers/process/process-trainer.ts')).createTrainer],
  ['torch', async () => (await import('../plugins/trainers/torch/torch-trainer.ts')).createTrainer],
]);

export function builtInTrainers(): string[] {
  return [...BUILT_IN.keys()];
}

/** A spec is a module path when it looks like one; anything else must be a built-in name. */
export function isModulePath(spec: string): boolean {
  return spec.startsWith('.') || spec.startsWith('/') || /\.(m?js|ts)$/.test(spec);
}

export function isTrainerPlugin(value: unknown): value is TrainerPlugin {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { name?: unknown; train?: unknown };
  return typeof candidate.name === 'string' && candidate.name.length > 0 && typeof candidate.train === 'function';
}

async function loadFactory(spec: string, fail: (reason: string, cause?: unknown) => Error): Promise<TrainerFactory> {
  if (!isModulePath(spec)) {
    const builtIn = BUILT_IN.get(spec);
    if (!builtIn) {
      throw fail(
        `not a built-in trainer (${builtInTrainers().join(', ')}) nor a module path (start it with ./ or / , or end it in .js, .mjs or .ts)`,
      );
    }
    return builtIn();
  }
  const path = resolve(process.cwd(), spec);
  if (!existsSync(path) || !statSync(path).isFile()) throw fail(`no such file ${path}`);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw fail(`cannot load ${path}: ${(error as Error).message}`, error);
  }
  const factory = typeof module['createTrainer'] === 'function' ? module['createTrainer'] : module['default'];
  if (typeof factory !== 'function') {
    throw fail(
      `${path} exports no trainer factory: export a function createTrainer({concurrency, options}) (or a default function) that returns the plugin`,
    );
  }
  return factory as TrainerFactory;
}

/**
 * `--trainer <spec>`: a built-in name (`tfjs`, `synthetic`, `process`, `torch`) or a module path resolved against
 * the working directory whose `createTrainer` (or default export) makes the plugin. Every
 * failure names `--trainer` and the value, so a typo in a config file is found at once.
 */
export async function resolveTrainer(spec: string, options: TrainerOptions): Promise<TrainerPlugin> {
  const fail = (reason: string, cause?: unknown) =>
    new Error(`--trainer ${JSON.stringify(spec)}: ${reason}`, cause === undefined ? undefined : { cause });
  const factory = await loadFactory(spec, fail);
  let plugin: unknown;
  try {
    plugin = await factory(options);
  } catch (error) {
    throw fail((error as Error).message, error);
  }
  if (!isTrainerPlugin(plugin)) {
    throw fail(
      `the factory returned ${describeValue(plugin)}, which is not a trainer plugin (it needs a string name and a train function)`,
    );
  }
  return plugin;
}
