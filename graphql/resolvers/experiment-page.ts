import {
  experimentCursor,
  experimentsPage,
  InvalidCursorError,
  type ExperimentFilter,
  type ExperimentOrder,
} from '../../core/projections/experiment-pages.ts';
import type { ExperimentStatus } from '../../core/projections/read-model-tables.ts';
import type { GraphqlContext } from '../context.ts';
import { connection } from './connection.ts';
import { badInput, pageSize, quote } from './input.ts';

export interface ExperimentsPageArgs {
  first?: number | null;
  after?: string | null;
  orderBy?: ExperimentOrder | null;
  filter?: { status?: ExperimentStatus[] | null; strategy?: string | null; trainer?: string | null } | null;
}

function experimentFilter(input: ExperimentsPageArgs['filter']): ExperimentFilter {
  const filter: { -readonly [K in keyof ExperimentFilter]: ExperimentFilter[K] } = {};
  if (input?.status) filter.statuses = [...new Set(input.status)];
  if (input?.strategy !== null && input?.strategy !== undefined) filter.strategy = input.strategy;
  if (input?.trainer !== null && input?.trainer !== undefined) filter.trainer = input.trainer;
  return filter;
}

/** `Query.experimentsPage`. */
export async function experimentsConnection(args: ExperimentsPageArgs, context: GraphqlContext) {
  const first = pageSize('first', args.first ?? 20, context.services.limits.maxPageSize);
  const orderBy = args.orderBy ?? 'CREATED_AT';
  try {
    const page = await experimentsPage(context.services.db, {
      first,
      after: args.after ?? null,
      orderBy,
      filter: experimentFilter(args.filter),
    });
    const edges = page.rows.map((experiment) => ({ node: experiment, cursor: experimentCursor(experiment, orderBy) }));
    return connection(edges, page);
  } catch (error) {
    if (error instanceof InvalidCursorError)
      throw badInput(`after is not a cursor of this connection (order ${orderBy}): ${quote(error.cursor)}`, 'INVALID_CURSOR');
    throw error;
  }
}
