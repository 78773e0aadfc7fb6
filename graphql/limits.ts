import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import {
  GraphQLError,
  Kind,
  getNamedType,
  isCompositeType,
  isListType,
  isNonNullType,
  isObjectType,
  isInterfaceType,
  type ASTVisitor,
  type FieldNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLOutputType,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** What one request may ask of the server. The README states these defaults. */
export interface Limits {
  /** Deepest field nesting of an operation (fragments flattened, introspection not counted). */
  maxDepth: number;
  /** Most estimated cost of an operation (see queryCost). */
  maxCost: number;
  /** Most aliases in an operation. */
  maxAliases: number;
  /** Most directives in an operation. */
  maxDirectives: number;
  /** Most lexical tokens in a document. */
  maxTokens: number;
  /** Largest `first` (samples, events) and `top` (bestCells): a larger value is an error. */
  maxPageSize: number;
  /** Largest request body, and longest GET query string, in bytes: larger is a 413. */
  maxRequestBytes: number;
  /** Most events a subscription holds for a client that reads slower than the log grows; past it the subscription ends with an error. */
  maxSubscriptionBacklog: number;
  /** Most `types` in an events filter. */
  maxEventTypes: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxDepth: 10,
  maxCost: 20_000,
  maxAliases: 15,
  maxDirectives: 10,
  maxTokens: 2_000,
  maxPageSize: 100,
  maxRequestBytes: 64 * 1024,
  maxSubscriptionBacklog: 10_000,
  maxEventTypes: 32,
});

export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new RangeError(`limit ${name} must be a whole number >= 1 (got ${String(value)})`);
  }
  return limits;
}

/**
 * How many items a list field is expected to hold when no argument says: what the cost
 * estimate charges for lists whose size the query cannot bound.
 */
const NOMINAL_LIST_SIZES: Readonly<Record<string, number>> = {
  'Query.experiments': 10,
  'Query.transfers': 10,
  'Experiment.policyUpdates': 100,
  'Experiment.rewardCurve': 1_000,
  'Sample.trials': 2,
  'Trial.metrics': 50,
  'Trial.events': 60,
  'Query.compareExperiments': 10,
  'Cell.blocks': 5,
  // A connection's `first` is charged on the connection field itself.
  'SampleConnection.edges': 1,
  'EventConnection.edges': 1,
  'ExperimentConnection.edges': 1,
};
/** What a connection returns when neither `first` nor `last` is given (the resolvers' default). */
const DEFAULT_PAGE_SIZE = 20;
const DEFAULT_NOMINAL_LIST_SIZE = 10;

/**
 * Arguments that bound a list field's length: page sizes are capped at maxPageSize (a
 * variable may be anything up to it); another bound (maxPoints) counts as given but never
 * more than the list's nominal size, which is also what it costs unbounded.
 */
const SIZE_ARGUMENTS: ReadonlyArray<{ name: string; page: boolean }> = [
  { name: 'first', page: true },
  { name: 'last', page: true },
  { name: 'top', page: true },
  { name: 'maxPoints', page: false },
];

/**
 * Estimates what an operation can return: each field costs 1, and an object field's
 * selections are multiplied by how many objects it may return — its `first`/`top` argument
 * (a literal; a variable counts as the largest page allowed; absent, the argument's
 * default), else a nominal size per list field (SIZE_ARGUMENTS, NOMINAL_LIST_SIZES). Unlike a static per-field weight this
 * charges `samples(first: 100)` a hundred times `samples(first: 1)`, with or without
 * variables. Scalar lists cost 1. Introspection is free.
 */
export function queryCost(
  context: ValidationContext,
  selectionSet: SelectionSetNode,
  parent: GraphQLCompositeType,
  maxPageSize: number,
): number {
  const fragmentCosts = new Map<string, number>();
  const visiting = new Set<string>();

  const selectionsCost = (set: SelectionSetNode, type: GraphQLCompositeType): number => {
    let total = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        total += fieldCost(selection, type);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? context.getSchema().getType(selection.typeCondition.name.value) : type;
        total += selectionsCost(selection.selectionSet, isCompositeType(condition) ? condition : type);
      } else {
        const name = selection.name.value;
        const known = fragmentCosts.get(name);
        if (known !== undefined) {
          total += known;
          continue;
        }
        // Cycles are reported by graphql's own NoFragmentCyclesRule; here they only must not loop.
        if (visiting.has(name)) continue;
        const fragment = context.getFragment(name);
        if (!fragment) continue;
        const condition = context.getSchema().getType(fragment.typeCondition.name.value);
        if (!isCompositeType(condition)) continue;
        visiting.add(name);
        const cost = selectionsCost(fragment.selectionSet, condition);
        visiting.delete(name);
        fragmentCosts.set(name, cost);
        total += cost;
      }
    }
    return total;
  };

  const fieldCost = (node: FieldNode, parentType: GraphQLCompositeType): number => {
    const name = node.name.value;
    if (name.startsWith('__')) return 0;
    const field = fieldOf(parentType, name);
    if (!field || !node.selectionSet) return 1;
    const named = getNamedType(field.type);
    if (!isCompositeType(named)) return 1;
    return 1 + listSize(node, field, parentType.name) * selectionsCost(node.selectionSet, named);
  };

  const listSize = (node: FieldNode, field: GraphQLField<unknown, unknown>, parentName: string): number => {
    const nominal = NOMINAL_LIST_SIZES[`${parentName}.${field.name}`] ?? DEFAULT_NOMINAL_LIST_SIZE;
    for (const { name, page } of SIZE_ARGUMENTS) {
      const definition = field.args.find((a) => a.name === name);
      if (!definition) continue;
      const given = node.arguments?.find((a) => a.name.value === name)?.value;
      if (given?.kind === Kind.INT) {
        const n = Number(given.value);
        // Out of range is the resolver's error to report; here it only must not overflow the estimate.
        return Math.max(0, page ? Math.min(n, maxPageSize) : Math.min(n, nominal));
      }
      if (given && given.kind !== Kind.NULL) return page ? maxPageSize : nominal;
    }
    for (const { name } of SIZE_ARGUMENTS) {
      const definition = field.args.find((a) => a.name === name);
      if (typeof definition?.defaultValue === 'number') return definition.defaultValue;
    }
    if (field.args.some((a) => a.name === 'first' || a.name === 'last')) return DEFAULT_PAGE_SIZE;
    return isList(field.type) ? nominal : 1;
  };

  return selectionsCost(selectionSet, parent);
}

function fieldOf(type: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined {
  return isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined;
}

function isList(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

/** A validation rule rejecting operations whose estimated cost exceeds maxCost. */
export function costLimitRule(maxCost: number, maxPageSize: number) {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(operation) {
      const root =
        operation.operation === 'query'
          ? context.getSchema().getQueryType()
          : operation.operation === 'mutation'
            ? context.getSchema().getMutationType()
            : context.getSchema().getSubscriptionType();
      if (!root) return;
      const cost = queryCost(context, operation.selectionSet, root, maxPageSize);
      if (cost > maxCost) {
        context.reportError(
          new GraphQLError(
            `query cost ${Math.ceil(cost)} exceeds the limit of ${maxCost}: ask for fewer fields, smaller pages (first, top) or fewer experiments at once`,
            {
              nodes: [operation],
              extensions: { code: 'QUERY_TOO_COSTLY', cost: Math.ceil(cost), maxCost },
            },
          ),
        );
      }
    },
  });
}

/** graphql-armor's depth, alias, directive and token limits, its field-suggestion blocking, and the cost rule above. */
export function limitPlugins(limits: Limits): Plugin[] {
  return [
    EnvelopArmorPlugin({
      maxDepth: { n: limits.maxDepth, flattenFragments: true, ignoreIntrospection: true },
      maxAliases: { n: limits.maxAliases },
      maxDirectives: { n: limits.maxDirectives },
      maxTokens: { n: limits.maxTokens },
      blockFieldSuggestion: { enabled: true },
      // Replaced by costLimitRule: armor's estimate ignores `first` given as a variable.
      costLimit: { enabled: false },
    }) as Plugin,
    {
      onValidate({ addValidationRule }) {
        addValidationRule(costLimitRule(limits.maxCost, limits.maxPageSize));
      },
    },
    requestSizeLimit(limits.maxRequestBytes),
  ];
}

/**
 * Refuses bodies (and GET query strings) over `maxBytes` with 413 before anything parses
 * them. The body is read here with a running count, so a chunked body without
 * Content-Length is cut off at the limit rather than buffered whole.
 */
export function requestSizeLimit(maxBytes: number): Plugin {
  // A refused body is still read and dropped, up to this much: closing a socket with unread
  // data resets it, and the client would never see the 413. Beyond it the client is not
  // owed an answer.
  const drainBytes = Math.max(maxBytes * 16, 1024 * 1024);
  const tooLarge = (fetchAPI: { Response: typeof Response }, size: string): Response =>
    new fetchAPI.Response(
      JSON.stringify({
        errors: [
          { message: `request too large: ${size}, the limit is ${maxBytes} bytes`, extensions: { code: 'REQUEST_TOO_LARGE' } },
        ],
      }),
      {
        status: 413,
        headers: { 'content-type': 'application/json; charset=utf-8', connection: 'close' },
      },
    );
  const drain = async (reader: ReadableStreamDefaultReader<Uint8Array>, read: number): Promise<void> => {
    try {
      while (read <= drainBytes) {
        const { done, value } = await reader.read();
        if (done) return;
        read += value.byteLength;
      }
    } catch {
      // The client went away: nothing to answer.
    }
  };
  return {
    async onRequest({ request, setRequest, endResponse, url, fetchAPI }) {
      if (url.search.length > maxBytes) {
        endResponse(tooLarge(fetchAPI, `a query string of ${url.search.length} bytes`));
        return;
      }
      if (!request.body) return;
      const length = request.headers.get('content-length');
      const declared = length === null ? Number.NaN : Number(length);
      if (declared > maxBytes) {
        await drain(request.body.getReader(), 0);
        endResponse(tooLarge(fetchAPI, `${declared} bytes`));
        return;
      }
      // node:http delivers exactly Content-Length bytes: a declared length within the limit needs no counting.
      if (Number.isSafeInteger(declared) && declared >= 0) return;
      const reader = request.body.getReader();
      const chunks: Uint8Array[] = [];
      let size = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > maxBytes) {
          await drain(reader, size);
          endResponse(tooLarge(fetchAPI, `more than ${maxBytes} bytes`));
          return;
        }
        chunks.push(value);
      }
      const body = Buffer.concat(chunks);
      setRequest(
        new fetchAPI.Request(request.url, { method: request.method, headers: request.headers, body, signal: request.signal }),
      );
    },
  };
}
