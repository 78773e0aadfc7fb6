import { readFile } from 'node:fs/promises';
import type { StrategyName } from '../core/controller/strategy.ts';
import { mergeConfig, PRESETS, type PresetName } from '../core/runtime/presets.ts';
import { SearchConfigError, validateSearchConfig, type SearchConfig } from '../core/runtime/search-config.ts';
import { UsageError } from './flags.ts';

export { newExperimentId } from '../core/runtime/experiment-id.ts';

/** The `nasnet search` flags that shape the experiment (the rest say where and how to run it). */
export interface SearchFlags {
  preset?: PresetName;
  config?: string;
  dataset?: string;
  trainer?: string;
  strategy?: StrategyName;
  samples?: number;
  batch?: number;
  N?: number;
  F?: number;
  filters?: number;
  epochs?: number;
  seed?: number;
  workers?: number;
  reuse?: boolean;
  backend?: string;
  trainerCommand?: string[];
}

export interface ResolvedSearch {
  config: SearchConfig;
  seed: number;
  workers: number;
}

/**
 * preset (default `demo`) ← config file ← flags, then one validation of the result, so
 * every error names the field or flag and the value before anything is written.
 */
export async function buildSearchConfig(flags: SearchFlags): Promise<ResolvedSearch> {
  const preset = PRESETS[flags.preset ?? 'demo'];
  let config: Record<string, unknown> = structuredClone(preset.config) as unknown as Record<string, unknown>;
  let seed = 1;
  let workers = preset.workers;
  if (flags.config) {
    const file = await readConfigFile(flags.config);
    if (typeof file.seed === 'number') seed = file.seed;
    if (typeof file.workers === 'number') workers = file.workers;
    const { seed: _seed, workers: _workers, ...rest } = file;
    config = mergeConfig(config, rest);
    try {
      validateSearchConfig(config);
    } catch (error) {
      if (error instanceof SearchConfigError) throw new UsageError(`config file ${flags.config}: ${error.message}`);
      throw error;
    }
  }
  if (flags.preset) config.preset = flags.preset;
  if (flags.strategy) config.strategy = flags.strategy;
  if (flags.samples !== undefined) config.samples = flags.samples;
  if (flags.batch !== undefined) config.controller = { ...(config.controller as object), batchSize: flags.batch };
  if (flags.dataset) config.dataset = flags.dataset;
  if (flags.trainer) config.trainer = flags.trainer;
  if (flags.epochs !== undefined) config.epochs = flags.epochs;
  if (flags.reuse === false) config.reuse = false;
  if (flags.backend) {
    if (config.trainer !== 'tfjs')
      throw new UsageError(`--backend applies to the tfjs trainer only (the trainer is ${JSON.stringify(config.trainer)})`);
    config.trainerOptions = { ...(config.trainerOptions as object), backend: flags.backend };
  }
  if (flags.trainerCommand) {
    if (config.trainer !== 'process')
      throw new UsageError(
        `--trainer-command applies to --trainer process only (the trainer is ${JSON.stringify(config.trainer)})`,
      );
    config.trainerOptions = { ...(config.trainerOptions as object), command: flags.trainerCommand };
  }
  if (flags.F !== undefined && flags.filters !== undefined)
    throw new UsageError('give the child width as --F (penultimate filters) or --filters (first stack), not both');
  const network = config.network as { N: number; filters?: number; F?: number };
  const N = flags.N ?? network.N;
  if (flags.F !== undefined) config.network = { N, F: flags.F };
  else if (flags.filters !== undefined) config.network = { N, filters: flags.filters };
  else config.network = { ...network, N };
  if (flags.seed !== undefined) seed = flags.seed;
  if (flags.workers !== undefined) workers = flags.workers;
  try {
    return { config: validateSearchConfig(config), seed, workers };
  } catch (error) {
    if (error instanceof SearchConfigError) throw new UsageError(`${flagFor(error.field)}: ${error.message}`);
    throw error;
  }
}

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `--config ${JSON.stringify(path)} cannot be read: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new UsageError(`config file ${path} must hold a JSON object, got ${JSON.stringify(parsed)?.slice(0, 60)}`);
  const file = parsed as Record<string, unknown>;
  for (const key of ['seed', 'workers'] as const) {
    if (
      key in file &&
      (typeof file[key] !== 'number' || !Number.isSafeInteger(file[key]) || (key === 'workers' && (file[key] as number) < 0))
    ) {
      throw new UsageError(
        `config file ${path}: ${key} must be a whole number${key === 'workers' ? ' >= 0' : ''} (got ${JSON.stringify(file[key])})`,
      );
    }
  }
  return file;
}

/** Names a config field the way the user set it. */
function flagFor(field: string): string {
  const flags: Record<string, string> = {
    samples: '--samples',
    'controller.batchSize': '--batch',
    dataset: '--dataset',
    trainer: '--trainer',
    epochs: '--epochs',
    strategy: '--strategy',
    'network.N': '--N',
    'network.F': '--F',
    'network.filters': '--filters',
    network: '--N/--F/--filters',
  };
  return flags[field] ?? `config ${field}`;
}
