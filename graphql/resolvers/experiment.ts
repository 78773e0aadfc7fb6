import { bestCells, policyUpdates, type Experiment } from '../../core/projections/queries.ts';
import { rewardCurvePoints } from '../../core/projections/reward-curve.ts';
import { InvalidCursorError, sampleCursor, samplesPage, type SampleOrder } from '../../core/projections/sample-pages.ts';
import type { GraphqlContext } from '../context.ts';
import { connection } from './connection.ts';
import { badInput, pageArguments, pageSize, quote, type PageArgs } from './input.ts';
import { evolutionWindow, type PolicyUpdateParent } from './policy-update.ts';
import { loadSamples } from './sample.ts';
import { sampleFilter, type SampleFilterInput } from './sample-filter.ts';

interface SamplesArgs extends PageArgs {
  orderBy?: SampleOrder | null;
  filter?: SampleFilterInput | null;
}

async function samples(experiment: Experiment, args: SamplesArgs, context: GraphqlContext) {
  const page = pageArguments(args, context.services.limits.maxPageSize);
  const orderBy = args.orderBy ?? 'INDEX';
  const filter = sampleFilter(args.filter);
  try {
    const result = await samplesPage(context.services.db, experiment.id, { orderBy, filter, ...page });
    const edges = result.rows.map((sample) => ({ node: sample, cursor: sampleCursor(sample, orderBy) }));
    return connection(edges, result);
  } catch (error) {
    if (error instanceof InvalidCursorError) {
      const name = page.last === undefined ? 'after' : 'before';
      throw badInput(`${name} is not a cursor of this connection (order ${orderBy}): ${quote(error.cursor)}`, 'INVALID_CURSOR');
    }
    throw error;
  }
}

export const experimentResolvers = {
  bestSample: (experiment: Experiment, _: unknown, context: GraphqlContext) =>
    experiment.bestSampleId ? context.loaders.sampleById.load(experiment.bestSampleId) : null,
  samples,
  bestCells: async (experiment: Experiment, { top }: { top?: number | null }, context: GraphqlContext) => {
    const count = pageSize('top', top ?? 5, context.services.limits.maxPageSize);
    const cells = await bestCells(context.services.db, experiment.id, count);
    return loadSamples(
      context,
      cells.map((cell) => cell.sampleId),
    );
  },
  policyUpdates: async (experiment: Experiment, _: unknown, context: GraphqlContext): Promise<PolicyUpdateParent[]> => {
    const evolution = evolutionWindow(experiment);
    return (await policyUpdates(context.services.db, experiment.id)).map((update) => ({ ...update, evolution }));
  },
  rewardCurve: (experiment: Experiment, { maxPoints }: { maxPoints?: number | null }, context: GraphqlContext) => {
    if (maxPoints !== null && maxPoints !== undefined && maxPoints < 2)
      throw badInput(`maxPoints must be at least 2 (got ${maxPoints})`);
    return rewardCurvePoints(context.services.db, experiment.id, maxPoints ?? null);
  },
};
