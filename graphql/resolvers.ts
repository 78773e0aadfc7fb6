import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { evolutionSizes } from '../core/controller/config.ts';
import { controllerSetup } from '../core/controller/experiment-config.ts';
import { isEventType } from '../core/events/catalogue.ts';
import type { NasnetEvent, RecordedEvent } from '../core/events/event.ts';
import { deterministicEventId } from '../core/events/ids.ts';
import type { JsonValue } from '../core/events/json.ts';
import { eventMetadata } from '../core/events/metadata.ts';
import { experimentStream, TRIAL_STREAM_PREFIX } from '../core/events/streams.ts';
import {
  InvalidCursorError,
  bestCells,
  getExperiment,
  getTransfer,
  listExperiments,
  listTransfers,
  policyUpdates,
  rewardCurve,
  sampleCursor,
  samplesPage,
  type Experiment,
  type PolicyUpdate,
  type Sample,
  type SampleOrder,
  type Transfer,
  type Trial,
} from '../core/projections/queries.ts';
import { foldEvent, type ExperimentState } from '../core/runtime/experiment-state.ts';
import { cellConcat, type CellName, type Genotype } from '../core/search-space/genotype.ts';
import { cellDot, cellText } from '../core/search-space/render.ts';
import { DuplicateEventIdError, WrongExpectedVersionError } from '../core/store/errors.ts';
import { START, matchesFilter, type EventFilter } from '../core/store/port.ts';
import type { GraphqlContext } from './context.ts';
import { toAsyncIterable, type ClosableAsyncIterator } from './subscription.ts';

// ---- errors ---------------------------------------------------------------------------------

/** An error the client caused: its message reaches the client (unexpected errors are masked). */
function badInput(message: string, code = 'BAD_USER_INPUT'): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

/** Echoes a client's string in a message without echoing a hostile payload whole. */
function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

// Stream names are built from ids; an id that could not name a stream names nothing here.
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const isId = (value: string): boolean => ID_PATTERN.test(value);

function pageSize(name: string, value: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max)
    throw badInput(`${name} must be between 1 and ${max} (got ${value})`);
  return value;
}

function position(name: string, value: string): bigint {
  if (!/^\d{1,40}$/.test(value))
    throw badInput(
      `${name} must be a cursor from a previous page (a global position, digits only), got ${quote(value)}`,
      'INVALID_CURSOR',
    );
  return BigInt(value);
}

// ---- the JSON scalar ------------------------------------------------------------------------

function literalValue(node: ValueNode): JsonValue {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.ENUM:
      return node.value;
    case Kind.BOOLEAN:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map(literalValue);
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((field) => [field.name.value, literalValue(field.value)]));
    case Kind.VARIABLE:
      throw badInput('JSON literals cannot hold variables');
  }
}

const JsonScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: literalValue,
});

// ---- shapes the resolvers pass down ---------------------------------------------------------

interface CellParent {
  genotype: Genotype;
  cell: CellName;
}

/** A policy update as Experiment.policyUpdates hands it down: with what its population needs. */
interface PolicyUpdateParent extends PolicyUpdate {
  /** The experiment's batch size and P when it is an evolution experiment; null otherwise. */
  evolution: { batchSize: number; populationSize: number } | null;
}

/** Batch size and population size of an evolution experiment (P from its config or the batch-scaled default); null for other strategies. */
function evolutionWindow(experiment: Experiment): PolicyUpdateParent['evolution'] {
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

interface Connection<T> {
  edges: Array<{ node: T; cursor: string }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null; hasPreviousPage: boolean; startCursor: string | null };
}

function connection<T>(
  edges: Array<{ node: T; cursor: string }>,
  hasNextPage: boolean,
  endCursor: string | null = edges[edges.length - 1]?.cursor ?? null,
): Connection<T> {
  return { edges, pageInfo: { hasNextPage, endCursor, hasPreviousPage: false, startCursor: edges[0]?.cursor ?? null } };
}

// ---- events ---------------------------------------------------------------------------------

interface EventSelection {
  filter: EventFilter;
  /** Prefixes also match longer ids (`exp` and `exp-2`): the payload decides. */
  experimentId: string | null;
}

function eventSelection(
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

function selects(selection: EventSelection, event: RecordedEvent): boolean {
  if (!matchesFilter(selection.filter, event.stream, event.type)) return false;
  return selection.experimentId === null || eventExperimentId(event) === selection.experimentId;
}

function eventExperimentId(event: RecordedEvent): string | null {
  const value = (event.data as { experimentId?: unknown }).experimentId;
  return typeof value === 'string' ? value : null;
}

/**
 * A page of the log. The store applies the filter (in SQL for SQLite: rows that do not
 * match are never decoded); an experimentId filter's prefixes also match longer ids
 * (`exp` and `exp-2`), so those events are dropped here and the read goes on, in growing
 * reads so that a long run of them costs few queries.
 */
async function eventsPage(
  context: GraphqlContext,
  args: { after?: string | null; first?: number | null; experimentId?: string | null; types?: string[] | null },
): Promise<Connection<RecordedEvent>> {
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
      if (edges.length > first) return connection(edges.slice(0, first), true);
    }
    if (got < chunk) return connection(edges, false, edges[edges.length - 1]?.cursor ?? args.after ?? null);
    chunk = Math.min(chunk * 4, 2_000);
  }
}

/** The last item of a subscription that had to end: its resolver turns it into the client's error. */
class SubscriptionEnded {
  constructor(readonly error: GraphQLError) {}
}

// ---- stopping -------------------------------------------------------------------------------

async function stopExperiment(context: GraphqlContext, id: string): Promise<Experiment> {
  if (!context.tokenConfigured) throw badInput('mutations are disabled: this server was started without --token', 'FORBIDDEN');
  if (!context.authorized)
    throw badInput(
      'stopExperiment needs the header "Authorization: Bearer <token>" with the token the server was started with',
      'UNAUTHENTICATED',
    );
  const { store, writerId } = context.services;
  const unknown = () => badInput(`no experiment ${quote(id)} in this store`, 'NOT_FOUND');
  if (!isId(id)) throw unknown();
  const stream = experimentStream(id);
  for (let attempt = 1; ; attempt++) {
    const { exists, revision, events } = await store.readStream(stream);
    const experiments = new Map<string, ExperimentState>();
    for (const event of events) foldEvent(experiments, event);
    const state = experiments.get(id);
    if (!exists || revision === null || !state) throw unknown();
    if (state.status !== 'running')
      throw badInput(`experiment ${id} is ${state.status}, not running: nothing to stop`, 'NOT_RUNNING');
    const stopped: NasnetEvent = {
      // Deterministic per revision: a retried request appends nothing twice.
      id: deterministicEventId(id, 'ExperimentStopped', revision),
      type: 'ExperimentStopped',
      version: 1,
      data: { experimentId: id, reason: 'stopped through GraphQL', samples: state.samples.size },
      metadata: eventMetadata(id, writerId),
    };
    try {
      await store.append(stream, [stopped], revision);
      break;
    } catch (error) {
      // The controller appended meanwhile (perhaps its own stop, with this very event id): look again.
      if (!(error instanceof WrongExpectedVersionError || error instanceof DuplicateEventIdError) || attempt >= 3) throw error;
    }
  }
  await context.services.readModelsCaughtUp?.();
  const experiment = await getExperiment(context.services.db, id);
  if (!experiment) throw unknown();
  return experiment;
}

// ---- resolvers ------------------------------------------------------------------------------

const lower = <T extends string>(values: readonly T[]): Record<Uppercase<T>, T> =>
  Object.fromEntries(values.map((value) => [value.toUpperCase(), value])) as Record<Uppercase<T>, T>;

export const resolvers = {
  JSON: JsonScalar,
  ExperimentStatus: lower(['created', 'running', 'completed', 'stopped']),
  SampleStatus: lower(['sampled', 'claimed', 'training', 'completed', 'failed', 'reused']),
  TrialStatus: lower(['claimed', 'training', 'completed', 'failed', 'released']),
  TransferStatus: lower(['requested', 'training', 'completed', 'failed']),
  RewardSource: lower(['trained', 'reused', 'failure']),

  Query: {
    experiments: (_: unknown, __: unknown, context: GraphqlContext) => listExperiments(context.services.db),
    experiment: (_: unknown, { id }: { id: string }, context: GraphqlContext) =>
      isId(id) ? getExperiment(context.services.db, id) : null,
    sample: (_: unknown, { id }: { id: string }, context: GraphqlContext) => context.loaders.sampleById.load(id),
    events: (
      _: unknown,
      args: { after?: string | null; first?: number | null; experimentId?: string | null; types?: string[] | null },
      context: GraphqlContext,
    ) => eventsPage(context, args),
    headPosition: async (_: unknown, __: unknown, context: GraphqlContext) =>
      (await context.services.store.headPosition()).toString(),
    audit: (_: unknown, { experimentId }: { experimentId: string }, context: GraphqlContext) => {
      if (!isId(experimentId)) throw badInput(`no experiment ${quote(experimentId)} in this store`, 'NOT_FOUND');
      return context.services.audit(experimentId);
    },
    transfers: (_: unknown, __: unknown, context: GraphqlContext) => listTransfers(context.services.db),
    transfer: (_: unknown, { id }: { id: string }, context: GraphqlContext) =>
      isId(id) ? getTransfer(context.services.db, id) : null,
  },

  Mutation: {
    stopExperiment: (_: unknown, { id }: { id: string }, context: GraphqlContext) => stopExperiment(context, id),
  },

  Subscription: {
    events: {
      subscribe: async (
        _: unknown,
        args: { experimentId?: string | null; types?: string[] | null; after?: string | null },
        context: GraphqlContext,
      ) => {
        const selection = eventSelection(context, args.experimentId, args.types);
        const { store, limits, subscriptions } = context.services;
        const from = args.after === null || args.after === undefined ? await store.headPosition() : position('after', args.after);
        const iterator: ClosableAsyncIterator<RecordedEvent | SubscriptionEnded> = toAsyncIterable(
          store.subscribe({ fromPosition: from, filter: selection.filter }),
          {
            keep: (event: RecordedEvent) => selects(selection, event),
            maxBuffered: limits.maxSubscriptionBacklog,
            overflow: (last) =>
              new SubscriptionEnded(
                badInput(
                  `this subscription fell more than ${limits.maxSubscriptionBacklog} events behind the log and was ended; subscribe again with after: ${JSON.stringify((last?.position ?? from).toString())}`,
                  'SUBSCRIPTION_BEHIND',
                ),
              ),
            onEnd: (): void => {
              subscriptions.delete(iterator);
            },
          },
        );
        subscriptions.add(iterator);
        return iterator;
      },
      resolve: (payload: RecordedEvent | SubscriptionEnded) => {
        if (payload instanceof SubscriptionEnded) throw payload.error;
        return payload;
      },
    },
  },

  Experiment: {
    bestSample: (experiment: Experiment, _: unknown, context: GraphqlContext) =>
      experiment.bestSampleId ? context.loaders.sampleById.load(experiment.bestSampleId) : null,
    samples: async (
      experiment: Experiment,
      args: { first?: number | null; after?: string | null; orderBy?: SampleOrder | null },
      context: GraphqlContext,
    ) => {
      const first = pageSize('first', args.first ?? 20, context.services.limits.maxPageSize);
      const orderBy = args.orderBy ?? 'INDEX';
      try {
        const page = await samplesPage(context.services.db, experiment.id, { first, after: args.after ?? null, orderBy });
        return connection(
          page.rows.map((sample) => ({ node: sample, cursor: sampleCursor(sample, orderBy) })),
          page.hasNextPage,
          page.endCursor,
        );
      } catch (error) {
        if (error instanceof InvalidCursorError)
          throw badInput(`after is not a cursor of this connection (order ${orderBy}): ${quote(error.cursor)}`, 'INVALID_CURSOR');
        throw error;
      }
    },
    bestCells: async (experiment: Experiment, { top }: { top?: number | null }, context: GraphqlContext) => {
      const count = pageSize('top', top ?? 5, context.services.limits.maxPageSize);
      const cells = await bestCells(context.services.db, experiment.id, count);
      const samples = await context.loaders.sampleById.loadMany(cells.map((cell) => cell.sampleId));
      return samples.filter((sample): sample is Sample => sample !== null && !(sample instanceof Error));
    },
    policyUpdates: async (experiment: Experiment, _: unknown, context: GraphqlContext): Promise<PolicyUpdateParent[]> => {
      const evolution = evolutionWindow(experiment);
      return (await policyUpdates(context.services.db, experiment.id)).map((update) => ({ ...update, evolution }));
    },
    rewardCurve: async (experiment: Experiment, { maxPoints }: { maxPoints?: number | null }, context: GraphqlContext) => {
      if (maxPoints !== null && maxPoints !== undefined && maxPoints < 2)
        throw badInput(`maxPoints must be at least 2 (got ${maxPoints})`);
      const curve = await rewardCurve(context.services.db, experiment.id);
      let best: number | null = null;
      const points = curve.samples.map((point) => {
        if (point.source !== 'failure' && (best === null || point.reward > best)) best = point.reward;
        return { ...point, bestSoFar: best };
      });
      if (!maxPoints || points.length <= maxPoints) return points;
      const stride = (points.length - 1) / (maxPoints - 1);
      return Array.from({ length: maxPoints }, (_, k) => points[Math.round(k * stride)]!);
    },
  },

  Sample: {
    id: (sample: Sample) => sample.sampleId,
    normal: (sample: Sample): CellParent => ({ genotype: sample.genotype, cell: 'normal' }),
    reduction: (sample: Sample): CellParent => ({ genotype: sample.genotype, cell: 'reduction' }),
    reused: (sample: Sample) => sample.rewardSource === 'reused',
    trials: (sample: Sample, _: unknown, context: GraphqlContext) => context.loaders.trialsBySample.load(sample.sampleId),
  },

  Cell: {
    blocks: ({ genotype, cell }: CellParent) =>
      genotype[cell].map(([opA, inputA, opB, inputB, combine]) => ({ opA, inputA, opB, inputB, combine })),
    concat: ({ genotype, cell }: CellParent) => cellConcat(genotype, cell),
    text: ({ genotype, cell }: CellParent) => cellText(genotype, cell).join('\n'),
    dot: ({ genotype, cell }: CellParent) => cellDot(genotype, cell),
  },

  Trial: {
    id: (trial: Trial) => `${trial.sampleId}#${trial.attempt}`,
    worker: (trial: Trial) => trial.workerId,
  },

  PolicyUpdate: {
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
      const samples = await context.loaders.sampleById.loadMany(population.best.map((member) => member.sampleId));
      return samples.filter((sample): sample is Sample => sample !== null && !(sample instanceof Error));
    },
    populationSize: async (update: PolicyUpdateParent, _: unknown, context: GraphqlContext) =>
      (await populationOf(update, 0, context))?.size ?? null,
  },

  Event: {
    position: (event: RecordedEvent) => event.position.toString(),
    revision: (event: RecordedEvent) => event.revision.toString(),
    experimentId: (event: RecordedEvent) => eventExperimentId(event),
  },

  Transfer: {
    id: (transfer: Transfer) => transfer.transferId,
    normal: (transfer: Transfer): CellParent => ({ genotype: transfer.genotype, cell: 'normal' }),
    reduction: (transfer: Transfer): CellParent => ({ genotype: transfer.genotype, cell: 'reduction' }),
  },
};
