import { getExperiment, getTransfer, listExperiments, listTransfers } from '../../core/projections/queries.ts';
import type { GraphqlContext } from '../context.ts';
import { eventsPage, type EventsPageArgs } from './event-log.ts';
import { experimentsConnection, type ExperimentsPageArgs } from './experiment-page.ts';
import { badInput, isId, quote } from './input.ts';

/** Side by side, more than this is no longer a comparison a page can show; the cost limit assumes it. */
const MAX_COMPARED = 10;

export const queryResolvers = {
  experiments: (_: unknown, __: unknown, context: GraphqlContext) => listExperiments(context.services.db),
  experimentsPage: (_: unknown, args: ExperimentsPageArgs, context: GraphqlContext) => experimentsConnection(args, context),
  experiment: (_: unknown, { id }: { id: string }, context: GraphqlContext) =>
    isId(id) ? getExperiment(context.services.db, id) : null,
  compareExperiments: (_: unknown, { ids }: { ids: string[] }, context: GraphqlContext) => {
    if (ids.length > MAX_COMPARED) throw badInput(`ids may name at most ${MAX_COMPARED} experiments (got ${ids.length})`);
    return Promise.all(ids.map((id) => (isId(id) ? getExperiment(context.services.db, id) : null)));
  },
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
