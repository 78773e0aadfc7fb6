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
    const field = error.instancePath.slice(1) || (error.params as { additionalProperties?: string[] }).additionalProperties?.[0] || 'config';
    const value = (config as Record<string, unknown>)[field];
    throw new RangeError(`controller config ${field} ${error.message} (got ${JSON.stringify(value)})`);
  }
  return config;
}
