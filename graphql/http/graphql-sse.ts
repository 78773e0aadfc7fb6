import { randomUUID } from 'node:crypto';
import { GraphQLError, getOperationAST, type DocumentNode } from 'graphql';
import {
  createHandler,
  TOKEN_HEADER_KEY,
  TOKEN_QUERY_KEY,
  type ExecutionResult,
  type Handler,
  type Request as SseRequest,
  type RequestParams,
  type Response as SseResponse,
  type ResponseInit as SseResponseInit,
} from 'graphql-sse';
import type { Plugin } from 'graphql-yoga';
import { shapeError } from './error-shape.ts';

/**
 * Results a stream may hold that its client has not read. Past it an operation waits to hand
 * over its next result, so a subscription's own bounded buffer (maxSubscriptionBacklog) fills
 * and ends it with SUBSCRIPTION_BEHIND, as on /graphql: graphql-sse's queue has no bound.
 */
const STREAM_HIGH_WATER = 16;
/** How long a stream reserved by PUT waits for its GET before it is dropped (graphql-sse keeps it forever). */
const RESERVATION_TTL_MS = 30_000;
/** Most streams reserved and not yet opened at once. */
const MAX_RESERVATIONS = 64;

const STATUS_CODES: Readonly<Record<number, string>> = {
  400: 'BAD_REQUEST',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  409: 'CONFLICT',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  500: 'INTERNAL_SERVER_ERROR',
  503: 'SERVICE_UNAVAILABLE',
};

/** What yoga's `fetchAPI` offers that these responses need. */
type FetchApi = { Response: typeof Response; ReadableStream: typeof ReadableStream };

/** What the handler passes from a request to its operations: yoga's server context, and the stream's backlog. */
interface StreamContext {
  serverContext: Record<string, unknown>;
  backlog: Backlog;
}

/** The parts of a yoga instance this plugin uses (getEnveloped's members are untyped in yoga's types). */
interface Enveloped {
  parse(source: string): DocumentNode;
  validate(schema: unknown, document: DocumentNode): readonly GraphQLError[];
  contextFactory(): Promise<unknown> | unknown;
  execute(args: object): unknown;
  subscribe(args: object): unknown;
  schema: unknown;
}
interface YogaLike {
  getEnveloped(initialContext: object): Enveloped;
  logger: { error(...args: unknown[]): void };
}

/** Counts the results handed to one stream that its client has not read yet; producers wait while it is full. */
class Backlog {
  private queued = 0;
  private waiting: Array<() => void> = [];
  private closed = false;

  async add(): Promise<void> {
    while (!this.closed && this.queued >= STREAM_HIGH_WATER) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.queued++;
  }

  taken(): void {
    this.queued = Math.max(0, this.queued - 1);
    this.wake();
  }

  /** The stream is gone: nobody waits for it any more. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resume of waiting) resume();
  }
}

/** The stream token of a request, where graphql-sse looks for it: the header, then the query string. */
function tokenOf(request: Request): string | null {
  return request.headers.get(TOKEN_HEADER_KEY) || new URL(request.url).searchParams.get(TOKEN_QUERY_KEY) || null;
}

const isAsyncIterable = (value: unknown): value is AsyncIterable<ExecutionResult> =>
  typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';

/**
 * One result as a stream of one. graphql-sse takes an object without `data` (a request error,
 * as graphql-js returns for bad variables) for execution arguments, and fails on it; a stream
 * it delivers as it is.
 */
async function* once(result: ExecutionResult): AsyncGenerator<ExecutionResult> {
  yield result;
}

/**
 * An error as a client of this endpoint gets it: shaped as on /graphql (error-shape.ts), and
 * without yoga's `extensions.http`, which yoga drops from what it sends and nothing here does.
 */
function forClient(error: GraphQLError): void {
  shapeError(error);
  delete (error.extensions as Record<string, unknown>).http;
}

/**
 * Errors of a request that runs nothing, as the client's result. Codes as on /graphql: yoga's
 * validation gives its errors theirs, and error-shape.ts gives the rest (the parser's, and
 * graphql-armor's limits, which it throws).
 */
function failed(errors: readonly unknown[]): AsyncGenerator<ExecutionResult> {
  const graphqlErrors = errors.map((error) => {
    if (!(error instanceof GraphQLError))
      return new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    forClient(error);
    return error;
  });
  return once({ errors: graphqlErrors });
}

/** A refusal before anything runs, in the shape of every other error of this server. */
function refusal(status: number, message: string, headers: Record<string, string> = {}): SseResponse {
  const code = STATUS_CODES[status] ?? 'BAD_REQUEST';
  return [
    JSON.stringify({ errors: [{ message, extensions: { code } }] }),
    { status, statusText: '', headers: { ...headers, 'content-type': 'application/json; charset=utf-8' } },
  ];
}

/**
 * Runs one operation through yoga's envelop — its parser with graphql-armor's token limit, its
 * validation with the depth, alias, directive and cost rules, its context (the bearer check),
 * masked errors and the response cache — as @graphql-yoga/plugin-graphql-sse does, but answering
 * parse and validation errors as results instead of failing on them.
 */
async function runOperation(
  yoga: YogaLike,
  request: SseRequest<Request, StreamContext>,
  params: RequestParams,
): Promise<SseResponse | AsyncIterable<ExecutionResult>> {
  const enveloped = yoga.getEnveloped({ ...request.context.serverContext, request: request.raw, params });
  let document: DocumentNode;
  let errors: readonly GraphQLError[];
  try {
    document = enveloped.parse(params.query);
    errors = enveloped.validate(enveloped.schema, document);
  } catch (error) {
    return failed([error]);
  }
  if (errors.length > 0) return failed(errors);
  const operation = getOperationAST(document, params.operationName);
  if (!operation) {
    const message = 'name the operation to run (operationName): the document has none of that name, or several';
    return failed([new GraphQLError(message, { extensions: { code: 'BAD_REQUEST' } })]);
  }
  // yoga's own rule already fails a mutation sent by GET in validation; graphql-sse would check
  // only operations it runs itself, so this stays as the guard of last resort.
  if (operation.operation === 'mutation' && request.method === 'GET') {
    return refusal(405, 'mutations are not run over GET; POST them', { allow: 'POST' });
  }
  const args = {
    schema: enveloped.schema,
    document,
    contextValue: await enveloped.contextFactory(),
    variableValues: params.variables,
    operationName: params.operationName,
  };
  const result = await (operation.operation === 'subscription' ? enveloped.subscribe(args) : enveloped.execute(args));
  return isAsyncIterable(result) ? result : once(result as ExecutionResult);
}

/** graphql-sse's own refusals (404, 405, 406, 409, 415, a 400 without detail) get a JSON body with a code. */
function withCode(body: string | null, init: SseResponseInit): SseResponse {
  if (init.status < 400) return [body, init];
  if (body !== null) {
    try {
      const parsed = JSON.parse(body) as { errors?: Array<{ message?: string; extensions?: { code?: string } }> };
      if (Array.isArray(parsed.errors)) {
        for (const error of parsed.errors)
          error.extensions = { code: STATUS_CODES[init.status] ?? 'BAD_REQUEST', ...error.extensions };
        return [JSON.stringify(parsed), init];
      }
    } catch {
      // Not JSON: replaced below.
    }
  }
  return refusal(init.status, init.statusText, init.headers);
}

export interface GraphqlSse {
  plugin: Plugin;
  /** Ends every stream, reserved or open; later requests get 503. */
  close(): Promise<void>;
}

/**
 * The GraphQL over SSE protocol of graphql-sse at `endpoint`, both modes: distinct connections
 * (POST, or GET with the query, accepting text/event-stream: one operation per stream) and
 * single connection (PUT reserves a stream and answers its token; GET with the token opens it;
 * POSTs with the token in `x-graphql-event-stream-token` run operations on it; DELETE with
 * `operationId` stops one). Placed after the Host check, the request guard (CSRF) and the size
 * limit, which so apply here too.
 */
export function graphqlSse(endpoint: string): GraphqlSse {
  let yoga: YogaLike | null = null;
  let handler: Handler<Request, StreamContext> | null = null;
  /** Single-connection streams, by token, from PUT until the stream ends. */
  const backlogs = new Map<string, Backlog>();
  /** Reserved streams not opened yet, with the timer that drops them. */
  const reservations = new Map<string, ReturnType<typeof setTimeout>>();
  /** Every stream being sent, to end on close. */
  const open = new Set<AsyncGenerator<string, void, undefined>>();
  let closed = false;

  const sseRequest = (request: Request, context: StreamContext): SseRequest<Request, StreamContext> => ({
    method: request.method,
    url: request.url,
    headers: request.headers,
    body: () => request.text(),
    raw: request,
    context,
  });

  const forget = (token: string) => {
    backlogs.get(token)?.close();
    backlogs.delete(token);
  };

  /**
   * Drops a reservation nobody opened. graphql-sse frees a stream only when the stream ends, so
   * it is opened here and ended at once; if its client opened it meanwhile, it stays.
   */
  const drop = async (token: string) => {
    clearTimeout(reservations.get(token));
    reservations.delete(token);
    if (!handler) return;
    const request = new Request(`http://localhost${endpoint}`, {
      headers: { accept: 'text/event-stream', [TOKEN_HEADER_KEY]: token },
    });
    const [body] = await handler(sseRequest(request, { serverContext: {}, backlog: new Backlog() }));
    if (body === null || typeof body === 'string') return;
    forget(token);
    await body.return(undefined);
  };

  const reserve = (token: string) => {
    backlogs.set(token, new Backlog());
    // Unref'd: a forgotten reservation must not keep the process alive.
    reservations.set(token, setTimeout(() => void drop(token).catch(() => undefined), RESERVATION_TTL_MS).unref());
  };

  const stream = (
    fetchAPI: FetchApi,
    request: Request,
    messages: AsyncGenerator<string, void, undefined>,
    init: SseResponseInit,
    backlog: Backlog,
    ended: () => void,
  ): Response => {
    open.add(messages);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      open.delete(messages);
      backlog.close();
      ended();
    };
    const encoder = new TextEncoder();
    const body = new fetchAPI.ReadableStream<Uint8Array>({
      async pull(controller) {
        let next: IteratorResult<string, void>;
        try {
          next = await messages.next();
        } catch {
          // An operation's source failed: graphql-sse ends the whole stream; end the response cleanly.
          next = { done: true, value: undefined };
        }
        if (next.done) {
          finish();
          controller.close();
          return;
        }
        if (next.value.startsWith('event: next')) backlog.taken();
        controller.enqueue(encoder.encode(next.value));
      },
      async cancel() {
        finish();
        await messages.return(undefined);
      },
    });
    // The client went away: graphql-sse then ends the stream's operations.
    request.signal.addEventListener(
      'abort',
      () => {
        finish();
        void messages.return(undefined);
      },
      { once: true },
    );
    return new fetchAPI.Response(body, { status: init.status, headers: init.headers });
  };

  const serve = async (request: Request, serverContext: Record<string, unknown>, fetchAPI: FetchApi): Promise<Response> => {
    const answer = ([body, init]: SseResponse) =>
      new fetchAPI.Response(body as string | null, { status: init.status, headers: init.headers });
    if (closed || !handler || !yoga) return answer(refusal(503, 'the server is closing'));
    const token = tokenOf(request);
    if (request.method === 'PUT' && reservations.size >= MAX_RESERVATIONS) {
      return answer(
        refusal(
          503,
          `${MAX_RESERVATIONS} streams are reserved and not opened; try again once one opens or expires (${RESERVATION_TTL_MS / 1000} s)`,
        ),
      );
    }
    // A request with a token belongs to that token's stream (if there is one): its results count against the stream.
    const backlog = (token !== null && request.method !== 'PUT' ? backlogs.get(token) : undefined) ?? new Backlog();
    let response: SseResponse;
    try {
      response = await handler(sseRequest(request, { serverContext, backlog }));
    } catch (error) {
      yoga.logger.error(error);
      return answer(refusal(500, 'Unexpected error.'));
    }
    const [body, init] = response;
    if (body === null || typeof body === 'string') {
      if (request.method === 'PUT' && init.status === 201 && body !== null) reserve(body);
      return answer(withCode(body, init));
    }
    if (token !== null && backlogs.get(token) === backlog) {
      // The reserved stream opens: it lives until its client leaves.
      clearTimeout(reservations.get(token));
      reservations.delete(token);
      return stream(fetchAPI, request, body, init, backlog, () => forget(token));
    }
    return stream(fetchAPI, request, body, init, backlog, () => undefined);
  };

  return {
    plugin: {
      onYogaInit({ yoga: instance }) {
        yoga = instance as unknown as YogaLike;
        const running = yoga;
        handler = createHandler<Request, StreamContext>({
          // graphql-sse's own default draws tokens from Math.random: a token is all it takes to read a stream.
          authenticate: (req) => tokenOf(req.raw) ?? randomUUID(),
          onSubscribe: (req, params) => runOperation(running, req, params),
          async onNext(_context, req, result) {
            for (const error of result.errors ?? []) if (error instanceof GraphQLError) forClient(error);
            await req.context.backlog.add();
          },
        });
      },
      async onRequest({ request, url, serverContext, endResponse, fetchAPI }) {
        if (url.pathname !== endpoint) return;
        endResponse(await serve(request, serverContext as Record<string, unknown>, fetchAPI));
      },
    },
    async close() {
      closed = true;
      for (const backlog of backlogs.values()) backlog.close();
      await Promise.all([
        ...[...reservations.keys()].map((token) => drop(token).catch(() => undefined)),
        ...[...open].map((messages) => messages.return(undefined).catch(() => undefined)),
      ]);
      backlogs.clear();
    },
  };
}
