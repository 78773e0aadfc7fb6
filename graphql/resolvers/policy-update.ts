import { evolutionSizes } from '../../core/controller/config.ts';
import { controllerSetup } from '../../core/controller/experiment-config.ts';
import type { Experiment, PolicyUpdate } from '../../core/projections/queries.ts';
import type { GraphqlContext } from '../context.ts';
import { pageSize } from './input.ts';
import { loadSamples } from './sample.ts';

/** A policy update as Experiment.policyUpdates hands it down: with what its population needs. */
export interface PolicyUpdateParent extends PolicyUpdate {
  /** The experiment's batch size and P when it is an evolution experiment; null otherwise. */
  evolution: { batchSize: number; populationSize: number } | null;
}

/** Batch size and population size of an evolution experiment (P from its config or the batch-scaled default); null for other strategies. */
export function evolutionWindow(experiment: Experiment): PolicyUpdateParent['evolution'] {
  if (experiment.strategy !== 'evolution') return null;
  try {
    const { controller } = controllerSetup(experiment.config);
    return { batchSize: controller.batchSize, populationSize: evolutionSizes(controller).populationSize };
  } catch {
    // A config this code cannot read: no population to show, but the rest of the update is still served.
    return null;
  }
}

function populationOf(update: PolicyUpdateParent, top: number, context: GraphqlContext) {
  if (update.evolution === null) return null;
  return context.loaders.populationAfterUpdate.load({
    experimentId: update.experimentId,
    version: update.version,
    top,
    ...update.evolution,
  });
}

export const policyUpdateResolvers = {
  loss: (update: PolicyUpdate) => update.stats?.loss ?? null,
  approxKl: (update: PolicyUpdate) => update.stats?.approxKl ?? null,
  clipFraction: (update: PolicyUpdate) => update.stats?.clipFraction ?? null,
  entropy: (update: PolicyUpdate) => update.stats?.entropy ?? null,
  epochs: (update: PolicyUpdate) => update.stats?.epochs ?? null,
  position: (update: PolicyUpdate) => update.position.toString(),
  population: async (update: PolicyUpdateParent, { top }: { top?: number | null }, context: GraphqlContext) => {
    const count = pageSize('top', top ?? 5, context.services.limits.maxPageSize);
    const population = await populationOf(update, count, context);
    if (population === null) return null;
    return loadSamples(
      context,
      population.best.map((member) => member.sampleId),
    );
  },
  populationSize: async (update: PolicyUpdateParent, _: unknown, context: GraphqlContext) =>
    (await populationOf(update, 0, context))?.size ?? null,
};
