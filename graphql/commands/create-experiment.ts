import type { JsonValue } from '../../core/events/json.ts';
import type { Experiment } from '../../core/projections/queries.ts';
import { createExperiment as recordExperiment, ExperimentExistsError } from '../../core/runtime/controller-loop.ts';
import { newExperimentId } from '../../core/runtime/experiment-id.ts';
import { mergeConfig, PRESET_NAMES, PRESETS, type PresetName } from '../../core/runtime/presets.ts';
import { SearchConfigError, validateSearchConfig, type SearchConfig } from '../../core/runtime/search-config.ts';
import type { GraphqlContext } from '../context.ts';
import { badInput, isId, quote } from '../resolvers/input.ts';
import { authorize } from './authorize.ts';
import { experimentAsWritten } from './experiment-as-written.ts';

export interface CreateExperimentInput {
  id?: string | null;
  preset?: string | null;
  config?: JsonValue | null;
  seed?: number | null;
  start?: boolean | null;
}

/** The preset's configuration with `config`'s fields over it, as `nasnet search --config` builds it; errors name the field. */
function configOf(input: CreateExperimentInput): SearchConfig {
  const preset = input.preset ?? 'demo';
  if (!(PRESET_NAMES as readonly string[]).includes(preset))
    throw badInput(`input.preset must be one of ${PRESET_NAMES.join(', ')} (got ${quote(preset)})`);
  const fields = input.config ?? {};
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields))
    throw badInput(`input.config must be an object of configuration fields (got ${quote(JSON.stringify(fields))})`);
  const base = structuredClone(PRESETS[preset as PresetName].config) as unknown as Record<string, unknown>;
  try {
    return validateSearchConfig({ ...mergeConfig(base, fields), preset });
  } catch (error) {
    if (error instanceof SearchConfigError) throw badInput(`input.config.${error.message}`);
    throw error;
  }
}

/**
 * `Mutation.createExperiment`: records ExperimentCreated and ControllerInitialized as
 * `nasnet search` does, and (unless `start: false`) runs the controller in this server;
 * `nasnet worker` processes train its samples.
 */
export async function createExperiment(context: GraphqlContext, input: CreateExperimentInput): Promise<Experiment> {
  authorize(context, 'createExperiment');
  const id = input.id ?? newExperimentId();
  if (!isId(id)) throw badInput(`input.id must be letters, digits, '.', '_' or '-' (at most 100), got ${quote(id)}`);
  const config = configOf(input);
  const seed = input.seed ?? 1;
  const { store, writerId, codeVersion, controllers } = context.services;
  try {
    await recordExperiment(store, { experimentId: id, config, seed, codeVersion, writerId });
  } catch (error) {
    if (error instanceof ExperimentExistsError) throw badInput(`experiment ${id} exists already`, 'ALREADY_EXISTS');
    throw error;
  }
  if (input.start !== false) controllers.start(id);
  return experimentAsWritten(context, id);
}
