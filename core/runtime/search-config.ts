import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { controllerConfigProblem, controllerConfigSchema } from '../controller/config.ts';
import { STRATEGY_NAMES } from '../controller/strategy.ts';
import type { JsonObject } from '../events/json.ts';

/**
 * An experiment's whole configuration, stored in ExperimentCreated: the controller reads
 * `strategy`/`controller`, every worker reads `trainer`, `network`, `dataset`, `epochs`,
 * `training` and `trials` — so a worker that joins later, on another machine, trains
 * exactly what the experiment asked for.
 */
export const searchConfigSchema = Type.Object(
  {
    preset: Type.Optional(Type.String()),
    strategy: Type.Enum([...STRATEGY_NAMES]),
    controller: Type.Partial(controllerConfigSchema),
    /** The sample budget: the experiment completes when this many architectures have rewards. */
    samples: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
    /** The trainer plugin's name (`tfjs`, `synthetic`, or the name a module plugin reports). */
    trainer: Type.String({ minLength: 1 }),
    /** The module path the plugin was loaded from (`--trainer ./my-trainer.js`), so `resume` can load it again. */
    trainerModule: Type.Optional(Type.String({ minLength: 1 })),
    /** Options for the plugin (e.g. `{backend: 'wasm'}`); the plugin validates them. */
    trainerOptions: Type.Record(Type.String(), Type.Unknown()),
    dataset: Type.String({ minLength: 1 }),
    /**
     * Normal cells per stack, and the width: `filters` of the first stack, or `F`, the paper's
     * penultimate filters, from which each child derives its own first-stack filters.
     */
    network: Type.Union([
      Type.Object(
        { N: Type.Integer({ minimum: 1, maximum: 64 }), filters: Type.Integer({ minimum: 1, maximum: 4096 }) },
        { additionalProperties: false },
      ),
      Type.Object(
        { N: Type.Integer({ minimum: 1, maximum: 64 }), F: Type.Integer({ minimum: 1, maximum: 100_000 }) },
        { additionalProperties: false },
      ),
    ]),
    epochs: Type.Integer({ minimum: 1, maximum: 10_000 }),
    /** Per-job training settings handed to the plugin (batch size, learning rate, …). */
    training: Type.Record(Type.String(), Type.Unknown()),
    /** Train a cell once per experiment: later samples with the same canonical hash take its reward. */
    reuse: Type.Boolean(),
    trials: Type.Object(
      {
        /** Attempts (claims that were not released) before a trial fails for good. */
        maxAttempts: Type.Integer({ minimum: 1, maximum: 100 }),
        /** How long a claim holds without a sign of life before another worker may take it. */
        leaseSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 7 * 24 * 3600 }),
        /** First retry delay after a retryable failure; doubles with every failed attempt. */
        retryBackoffSeconds: Type.Number({ minimum: 0, maximum: 3600 }),
        /** The reward of a trial that failed for good (the controller must still learn from it). */
        failureReward: Type.Number(),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export type SearchConfig = Static<typeof searchConfigSchema>;

export const DEFAULT_TRIALS: SearchConfig['trials'] = {
  maxAttempts: 3,
  leaseSeconds: 900,
  retryBackoffSeconds: 2,
  failureReward: 0,
};

const check = Compile(searchConfigSchema);

/** Checks a complete configuration; the error names the field (as a JSON path) and the value. */
export function validateSearchConfig(config: unknown): SearchConfig {
  if (check.Check(config)) {
    const problem = controllerConfigProblem(config.controller);
    if (problem) throw new SearchConfigError(`controller.${problem.field}`, problem.value, problem.reason);
    return config;
  }
  const error = check.Errors(config)[0]!;
  const extra = (error.params as { additionalProperties?: string[] }).additionalProperties?.[0];
  const path = error.instancePath.split('/').filter(Boolean);
  if (extra) path.push(extra);
  let value: unknown = config;
  for (const part of path)
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  const field = path.join('.') || 'config';
  const unknownKey = extra !== undefined || (error.keyword === 'boolean' && error.schemaPath.endsWith('additionalProperties'));
  const message = unknownKey ? 'is not a known setting' : error.message;
  throw new SearchConfigError(field, value, message);
}

export class SearchConfigError extends RangeError {
  constructor(
    readonly field: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`${field} ${reason} (got ${value === undefined ? 'nothing' : JSON.stringify(value)})`);
    this.name = 'SearchConfigError';
  }
}

/** The configuration as stored in ExperimentCreated (it is JSON by construction). */
export function searchConfigJson(config: SearchConfig): JsonObject {
  return JSON.parse(JSON.stringify(config)) as JsonObject;
}
