import { isEventType } from '../../core/events/catalogue.ts';
import type { RecordedEvent } from '../../core/events/event.ts';
import { experimentStream, TRIAL_STREAM_PREFIX } from '../../core/events/streams.ts';
import { START, matchesFilter, type EventFilter } from '../../core/store/port.ts';
import type { GraphqlContext } from '../context.ts';
import { connection, type Connection } from './connection.ts';
import { badInput, isId, pageSize, position, quote } from './input.ts';

/** Which events `Query.events` and `Subscription.events` deliver. */
export interface EventSelection {
  filter: EventFilter;
  /** Prefixes also match longer ids (`exp` and `exp-2`): the payload decides. */
  experimentId: string | null;
}

export interface EventsPageArgs {
  after?: string | null;
  first?: number | null;
  experimentId?: string | null;
  types?: string[] | null;
}

export function eventSelection(
  context: GraphqlContext,
  experimentId: string | null | undefined,
  types: readonly string[] | null | undefined,
): EventSelection {
  const filter: { streamPrefixes?: string[]; types?: string[] } = {};
  if (types) {
    const max = context.services.limits.maxEventTypes;
    if (types.length > max) throw badInput(`types may name at most ${max} event types (got ${types.length})`);
    const unknown = types.find((type) => !isEventType(type));
    if (unknown !== undefined) throw badInput(`types: ${quote(unknown)} is not an event type`);
    filter.types = [...new Set(types)];
  }
  if (experimentId !== null && experimentId !== undefined) {
    if (!isId(experimentId)) throw badInput(`experimentId ${quote(experimentId)} is not a valid experiment id`);
    filter.streamPrefixes = [experimentStream(experimentId), `${TRIAL_STREAM_PREFIX}${experimentId}-`];
  }
  return { filter, experimentId: experimentId ?? null };
}

export function selects(selection: EventSelection, event: RecordedEvent): boolean {
  if (!matchesFilter(selection.filter, event.stream, event.type)) return false;
  return selection.experimentId === null || eventExperimentId(event) === selection.experimentId;
}

export function eventExperimentId(event: RecordedEvent): string | null {
  const value = (event.data as { experimentId?: unknown }).experimentId;
  return typeof value === 'string' ? value : null;
}

/**
 * A page of the log. The store applies the filter (in SQL for SQLite: rows that do not
 * match are never decoded); an experimentId filter's prefixes also match longer ids
 * (`exp` and `exp-2`), so those events are dropped here and the read goes on, in growing
 * reads so that a long run of them costs few queries.
 */
export async function eventsPage(context: GraphqlContext, args: EventsPageArgs): Promise<Connection<RecordedEvent>> {
  const { limits, store } = context.services;
  const first = pageSize('first', args.first ?? 20, limits.maxPageSize);
  const after = args.after === null || args.after === undefined ? START : position('after', args.after);
  const selection = eventSelection(context, args.experimentId, args.types);
  const edges: Array<{ node: RecordedEvent; cursor: string }> = [];
  let from = after;
  let chunk = first + 1;
  for (;;) {
    let got = 0;
    for await (const event of store.readAll({ fromPosition: from, filter: selection.filter, maxCount: chunk })) {
      got++;
      from = event.position;
      if (!selects(selection, event)) continue;
      edges.push({ node: event, cursor: event.position.toString() });
      // One past the page: there is a next page.
      if (edges.length > first) return connection(edges.slice(0, first), { hasNextPage: true });
    }
    if (got < chunk)
      return connection(edges, { hasNextPage: false, endCursor: edges[edges.length - 1]?.cursor ?? args.after ?? null });
    chunk = Math.min(chunk * 4, 2_000);
  }
}
