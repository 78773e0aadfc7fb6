import type { JsonObject } from '../events/json.ts';
import { controllerConfig, type ControllerConfig } from './config.ts';
import { isStrategyName } from './create-strategy.ts';
import { STRATEGY_NAMES, type StrategyName } from './strategy.ts';

/** The part of an experiment's configuration that decides its controller. */
export interface ControllerSetup {
  strategy: StrategyName;
  controller: ControllerConfig;
}

/**
 * Reads `strategy` and `controller` from an ExperimentCreated config; missing controller
 * fields take the paper's defaults. Errors name the field and the value.
 */
export function controllerSetup(config: JsonObject): ControllerSetup {
  const strategy = config.strategy;
  if (!isStrategyName(strategy)) {
    throw new RangeError(`config.strategy must be one of ${STRATEGY_NAMES.join(', ')} (got ${JSON.stringify(strategy)})`);
  }
  const overrides = config.controller ?? {};
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new RangeError(`config.controller must be an object of controller settings (got ${JSON.stringify(overrides)})`);
  }
  return { strategy, controller: controllerConfig(overrides as Partial<ControllerConfig>) };
}
