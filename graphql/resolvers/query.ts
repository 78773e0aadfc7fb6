import { getExperiment, getTransfer, listExperiments, listTransfers } from '../../core/projections/queries.ts';
import type { GraphqlContext } from '../context.ts';
import { eventsPage, type EventsPageArgs } from './event-log.ts';
import { badInput, isId, quote } from './input.ts';

export const queryResolvers = {
  experiments: (_: unknown, __: unknown, context: GraphqlContext) => listExperiments(context.services.db),
  experiment: (_: unknown, { id }: { id: string }, context: GraphqlContext) =>
    isId(id) ? getExperiment(context.services.db, id) : null,
  sample: (_: unknown, { id }: { id: string }, context: GraphqlContext) => context.loaders.sampleById.load(id),
  events: (_: unknown, args: EventsPageArgs, context: GraphqlContext) => eventsPage(context, args),
  headPosition: async (_: unknown, __: unknown, context: GraphqlContext) =>
    (await context.services.store.headPosition()).toString(),
  audit: (_: unknown, { experimentId }: { experimentId: string }, context: GraphqlContext) => {
    if (!isId(experimentId)) throw badInput(`no experiment ${quote(experimentId)} in this store`, 'NOT_FOUND');
    return context.services.audit(experimentId);
  },
  transfers: (_: unknown, __: unknown, context: GraphqlContext) => listTransfers(context.services.db),
  transfer: (_: unknown, { id }: { id: string }, context: GraphqlContext) =>
    isId(id) ? getTransfer(context.services.db, id) : null,
};
