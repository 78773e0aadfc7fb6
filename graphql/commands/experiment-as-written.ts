import { getExperiment, type Experiment } from '../../core/projections/queries.ts';
import type { GraphqlContext } from '../context.ts';
import { badInput, quote } from '../resolvers/input.ts';

/** The experiment once the read models show this request's own event (or as they stand after a short wait). */
export async function experimentAsWritten(context: GraphqlContext, id: string): Promise<Experiment> {
  await context.services.readModelsCaughtUp?.();
  const experiment = await getExperiment(context.services.db, id);
  if (!experiment) throw badInput(`no experiment ${quote(id)} in this store`, 'NOT_FOUND');
  return experiment;
}
