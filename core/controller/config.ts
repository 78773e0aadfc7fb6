import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';

/**
 * Controller hyper-parameters. Defaults are the paper's (§3, appendix A): one LSTM layer of
 * 100 units, weights uniform in [-0.1, 0.1], PPO with learning rate 0.00035, clip 0.2,
 * entropy weight 0.00001, reward baseline an exponential moving average with decay 0.95,
 * batches of 20 architectures. The paper does not give the number of PPO epochs per batch.
 */
export const controllerConfigSchema = Type.Object(
  {
    hiddenSize: Type.Integer({ minimum: 1, maximum: 1024, default: 100 }),
    embeddingSize: Type.Integer({ minimum: 1, maximum: 1024, default: 100 }),
    initRange: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.1 }),
    learningRate: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.00035 }),
    entropyWeight: Type.Number({ minimum: 0, maximum: 1, default: 0.00001 }),
    baselineDecay: Type.Number({ minimum: 0, maximum: 1, default: 0.95 }),
    clip: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.2 }),
    ppoEpochs: Type.Integer({ minimum: 1, maximum: 100, default: 4 }),
    batchSize: Type.Integer({ minimum: 1, maximum: 10000, default: 20 }),
    /** Evolution only (Real et al. 2019): the population P and tournament size S; see evolutionSizes for the defaults. */
    populationSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    tournamentSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);

export type ControllerConfig = Static<typeof controllerConfigSchema>;

export const PAPER_CONTROLLER: ControllerConfig = {
  hiddenSize: 100,
  embeddingSize: 100,
  initRange: 0.1,
  learningRate: 0.00035,
  entropyWeight: 0.00001,
  baselineDecay: 0.95,
  clip: 0.2,
  ppoEpochs: 4,
  batchSize: 20,
};

const check = Compile(controllerConfigSchema);

/** Fills defaults and checks the result; the error names the field and the value. */
export function controllerConfig(overrides: Partial<ControllerConfig> = {}): ControllerConfig {
  const config = { ...PAPER_CONTROLLER, ...overrides };
  if (!check.Check(config)) {
    const error = check.Errors(config)[0]!;
    const field =
      error.instancePath.slice(1) || (error.params as { additionalProperties?: string[] }).additionalProperties?.[0] || 'config';
    const value = (config as Record<string, unknown>)[field];
    throw new RangeError(`controller config ${field} ${error.message} (got ${JSON.stringify(value)})`);
  }
  const problem = controllerConfigProblem(config);
  if (problem)
    throw new RangeError(`controller config ${problem.field} ${problem.reason} (got ${JSON.stringify(problem.value)})`);
  return config;
}

export interface EvolutionSizes {
  populationSize: number;
  tournamentSize: number;
}

/**
 * Regularized evolution's population P and tournament size S. Real et al. ran P = 100 and
 * S = 25 in the NASNet space. Here one policy version draws a whole batch from one
 * population, so the defaults scale with the batch: P = 5 × batchSize (five batches of
 * history) and S = max(2, round(1.25 × batchSize)) — the paper's 100 and 25 at the paper's
 * batch of 20, and the same selection pressure S/P = 1/4 (up to rounding) at other sizes
 * (a fixed P = 100 would leave a search of 10 batches of 4 random from start to end). S is
 * at least 2 (a tournament of one is no selection) but never more than P (a tournament
 * draws distinct members).
 */
export function evolutionSizes(
  config: Pick<ControllerConfig, 'batchSize' | 'populationSize' | 'tournamentSize'>,
): EvolutionSizes {
  const populationSize = config.populationSize ?? 5 * config.batchSize;
  const tournamentSize = config.tournamentSize ?? Math.min(populationSize, Math.max(2, Math.round(1.25 * config.batchSize)));
  return { populationSize, tournamentSize };
}

/**
 * What the schema cannot say about a controller config: relations between fields. The
 * search configuration's validation uses it too, so a bad combination is refused before
 * anything is written.
 */
export function controllerConfigProblem(
  config: Partial<ControllerConfig>,
): { field: keyof ControllerConfig; value: number; reason: string } | null {
  if (config.tournamentSize === undefined) return null;
  const { populationSize } = evolutionSizes({ ...config, batchSize: config.batchSize ?? PAPER_CONTROLLER.batchSize });
  if (config.tournamentSize <= populationSize) return null;
  const source =
    config.populationSize === undefined ? `, the default 5 × batchSize ${config.batchSize ?? PAPER_CONTROLLER.batchSize}` : '';
  return {
    field: 'tournamentSize',
    value: config.tournamentSize,
    reason: `must be <= populationSize (${populationSize}${source}): a tournament draws distinct members`,
  };
}
