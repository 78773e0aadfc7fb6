import type { Experiment } from '../../core/projections/queries.ts';
import { loadExperiment, UnknownExperimentError } from '../../core/runtime/controller-loop.ts';
import type { GraphqlContext } from '../context.ts';
import { badInput, isId, quote } from '../resolvers/input.ts';
import { authorize } from './authorize.ts';
import { experimentAsWritten } from './experiment-as-written.ts';

/**
 * `Mutation.resumeExperiment`: runs the experiment's controller in this server, as
 * `nasnet resume --workers 0` would — after a stop, a crash, or `createExperiment(start:
 * false)`. It replays the recorded updates first, then records ExperimentResumed (after a
 * stop) and samples what is missing.
 */
export async function resumeExperiment(context: GraphqlContext, id: string): Promise<Experiment> {
  authorize(context, 'resumeExperiment');
  const unknown = () => badInput(`no experiment ${quote(id)} in this store`, 'NOT_FOUND');
  if (!isId(id)) throw unknown();
  const { store, controllers } = context.services;
  const state = await loadExperiment(store, id).catch((error: unknown) => {
    throw error instanceof UnknownExperimentError ? unknown() : error;
  });
  if (state.status === 'completed') throw badInput(`experiment ${id} is completed: nothing to resume`, 'NOT_RESUMABLE');
  if (!controllers.start(id)) throw badInput(`this server already runs the controller of ${id}`, 'ALREADY_RUNNING');
  return experimentAsWritten(context, id);
}
