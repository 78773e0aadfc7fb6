import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { auditStoredExperiment } from '../core/audit/audit-store.ts';
import type { AuditReport } from '../core/audit/audit.ts';
import { experimentStream } from '../core/events/streams.ts';
import type { EventStore } from '../core/store/port.ts';
import type { SqliteConnection } from '../core/store/sqlite/connection.ts';
import type { GraphqlContext, ServerServices } from './context.ts';
import { limitPlugins, resolveLimits, type Limits } from './limits.ts';
import { createLoaders } from './loaders.ts';
import { resolvers } from './resolvers.ts';
import { createResponseCache, type ResponseCache } from './response-cache.ts';
import { typeDefs } from './schema.ts';

export { DEFAULT_LIMITS, type Limits } from './limits.ts';

/** The dashboard shipped with nasnet (graphql/dashboard/). */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('./dashboard/', import.meta.url));

/** Yoga's server context: node:http adds {req, res}, which nothing here reads. */
type ServerContext = {};

export interface GraphqlServerOptions {
  store: EventStore;
  /** A read-model connection for queries only: not the one a projector writes through. */
  readModels: SqliteConnection;
  /** The bearer token mutations need; without one, mutations are refused. */
  token?: string;
  /** Where the dashboard's files are (default graphql/dashboard/); `/` serves its index.html. */
  dashboardDir?: string;
  limits?: Partial<Limits>;
  /**
   * The projector keeping `readModels` current. Given, a mutation returns the experiment
   * as its own event left it, instead of as the read models stood before the event.
   */
  projector?: { caughtUp(): Promise<void> };
  /** Recorded as writerId in the events this server appends (default graphql:<host>/<pid>). */
  writerId?: string;
  /**
   * Host names (no port) the Host header may name; others get 403. A server on loopback
   * should list its loopback names: a page on another site whose name was rebound to
   * 127.0.0.1 then cannot read it as same-origin (DNS rebinding). Default: any.
   */
  allowedHosts?: readonly string[];
  /**
   * Reuse a query's result, and its response's bytes, while the read models' checkpoint
   * stands still (see response-cache.ts): a repeated POST /graphql is then answered before
   * yoga, with header `x-nasnet-cache: hit`. Default true; false runs every query.
   */
  responseCache?: boolean;
  /**
   * Runs one audit (default: in this thread). Audits replay every policy update, so a server
   * for long searches should run them elsewhere: `nasnet serve` uses a worker thread.
   */
  auditExperiment?: (experimentId: string) => Promise<AuditReport>;
  /** Log requests' unexpected errors (with stacks) on the console; they never reach clients. Default true. */
  logging?: boolean;
}

export interface GraphqlServer {
  /** The GraphQL handler; `yoga.fetch(url, init)` serves a request without a socket. */
  yoga: YogaServerInstance<ServerContext, GraphqlContext>;
  /**
   * A node:http request listener for everything: /graphql, the dashboard at /,
   * /dashboard/<file>. Repeated queries POSTed to /graphql are answered from stored bytes
   * here, before yoga (see response-cache.ts).
   */
  handle: (request: IncomingMessage, response: ServerResponse) => void;
  /** The response cache's counts (hits, misses, stored); undefined with `responseCache: false`. */
  readonly cacheStats?: Readonly<ResponseCache['stats']>;
  /** Ends open subscriptions. The store and read models stay open: they are the caller's. */
  close(): Promise<void>;
}

/** How long stopExperiment waits for the read models to show the stop before answering with what they have. */
const CAUGHT_UP_WAIT_MS = 3_000;

export function createGraphqlServer(options: GraphqlServerOptions): GraphqlServer {
  const limits = resolveLimits(options.limits);
  const tokenDigest = options.token ? digest(options.token) : null;
  const projector = options.projector;
  const services: ServerServices = {
    store: options.store,
    db: options.readModels,
    limits,
    writerId: options.writerId ?? `graphql:${hostname()}/${process.pid}`,
    readModelsCaughtUp: projector
      ? () =>
          Promise.race([
            projector.caughtUp().catch(() => undefined),
            new Promise<void>((done) => setTimeout(done, CAUGHT_UP_WAIT_MS).unref()),
          ])
      : undefined,
    audit: auditRunner(
      options.store,
      options.auditExperiment ?? ((experimentId) => auditStoredExperiment(options.store, experimentId)),
    ),
    subscriptions: new Set(),
  };

  const cache =
    options.responseCache === false
      ? null
      : createResponseCache({ db: services.db, maxEntries: 500, maxBytes: 32 * 1024 * 1024 });
  const hostAllowed = options.allowedHosts ? hostMatcher(options.allowedHosts) : () => true;

  const yoga = createYoga<ServerContext, GraphqlContext>({
    schema: createSchema<GraphqlContext>({ typeDefs, resolvers }),
    graphqlEndpoint: '/graphql',
    // Stacks and SQL stay in the server's log; clients get "Unexpected error." for anything not a GraphQLError.
    maskedErrors: { isDev: false },
    logging: options.logging === false ? false : 'warn',
    graphiql: { title: 'nasnet', defaultQuery: DEFAULT_QUERY },
    landingPage: false,
    // Same-origin only: the dashboard is served from here, and another site's page must not read a local search.
    cors: false,
    batching: false,
    multipart: false,
    context: ({ request }) => ({
      services,
      loaders: createLoaders(services.db),
      authorized: tokenDigest !== null && bearerMatches(request.headers.get('authorization'), tokenDigest),
      tokenConfigured: tokenDigest !== null,
    }),
    plugins: [
      ...(options.allowedHosts ? [hostCheck(options.allowedHosts)] : []),
      dashboard(options.dashboardDir ?? DEFAULT_DASHBOARD_DIR),
      ...limitPlugins(limits),
      ...(cache ? [cache.plugin] : []),
    ],
  });

  return {
    yoga,
    handle: (request, response) => {
      if (!cache || !fastPathCandidate(request, limits.maxRequestBytes, hostAllowed)) {
        void yoga.requestListener(request, response);
        return;
      }
      void answerFromCache(cache, request, response, () => void yoga.requestListener(request, response));
    },
    cacheStats: cache?.stats,
    async close() {
      await Promise.all([...services.subscriptions].map((subscription) => subscription.return().catch(() => undefined)));
      services.subscriptions.clear();
      await yoga.dispose();
    },
  };
}

const DEFAULT_QUERY = `# nasnet: experiments, samples, trials, policy updates, the event log.
{
  experiments {
    id
    status
    sampleCount
    bestReward
    policyVersion
    bestCells(top: 3) {
      id
      reward
      normal { text }
      reduction { text }
    }
  }
}
`;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Compares digests in constant time, so response times say nothing about the token. */
function bearerMatches(header: string | null, expected: Buffer): boolean {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match !== null && timingSafeEqual(digest(match[1]!), expected);
}

/**
 * Audits replay the controller (CPU-bound): one at a time, and a report is reused while
 * the log's head has not moved. Where the replay runs is the caller's choice (auditExperiment).
 */
function auditRunner(
  store: EventStore,
  auditExperiment: (experimentId: string) => Promise<AuditReport>,
): (experimentId: string) => Promise<AuditReport> {
  const reports = new Map<string, { head: bigint; report: AuditReport }>();
  let queue: Promise<unknown> = Promise.resolve();
  return (experimentId) => {
    const run = queue.then(async () => {
      const head = await store.headPosition();
      const cached = reports.get(experimentId);
      if (cached && cached.head === head) return cached.report;
      const { exists } = await store.readStream(experimentStream(experimentId), { direction: 'backwards', maxCount: 1 });
      if (!exists)
        throw new GraphQLError(`no experiment ${JSON.stringify(experimentId)} in this store`, {
          extensions: { code: 'NOT_FOUND' },
        });
      const report = await auditExperiment(experimentId);
      reports.delete(experimentId);
      reports.set(experimentId, { head, report });
      if (reports.size > 16) reports.delete(reports.keys().next().value!);
      return report;
    });
    queue = run.catch(() => undefined);
    return run;
  };
}

/**
 * Whether a request may be answered from stored response bytes: POST /graphql with a JSON
 * body of a declared length within the size limit, not asking for a stream, from an
 * allowed Host. Anything else goes to yoga untouched (and yoga refuses it as it should:
 * 403 for the Host, 413 for the size, including bodies without Content-Length).
 */
function fastPathCandidate(request: IncomingMessage, maxBytes: number, hostAllowed: (host: string) => boolean): boolean {
  if (request.method !== 'POST' || request.url !== '/graphql') return false;
  const { 'content-type': type, 'content-length': length, accept } = request.headers;
  if (!type || !/^application\/json\s*(;|$)/i.test(type)) return false;
  if (accept && /text\/event-stream|multipart\//i.test(accept)) return false;
  const declared = length === undefined ? Number.NaN : Number(length);
  if (!Number.isSafeInteger(declared) || declared <= 0 || declared > maxBytes) return false;
  return hostAllowed(request.headers.host ?? '');
}

/** Reads the body, answers from the cache on a hit, else hands the request with its body to yoga (`toYoga`). */
async function answerFromCache(
  cache: ResponseCache,
  request: IncomingMessage,
  response: ServerResponse,
  toYoga: () => void,
): Promise<void> {
  let body: Buffer;
  try {
    body = await readBody(request);
  } catch {
    // The client went away mid-body: nothing to answer.
    response.destroy();
    return;
  }
  try {
    const key = cache.keyFor(request, body);
    if (await cache.answer(key, request, response)) return;
  } catch {
    // The cache is an optimization: on any failure, yoga answers.
  }
  // The stream is consumed; @whatwg-node/server takes an already-read body from `request.body`.
  Object.assign(request, { body });
  toYoga();
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    request.once('error', reject);
    request.once('close', () => {
      if (!request.complete) reject(new Error('request aborted'));
    });
  });
}

const normalizeHost = (name: string) => name.toLowerCase().replace(/^\[(.*)\]$/, '$1');

/** Whether a Host header (name and optional port) names one of `allowed`, as hostCheck judges it. */
function hostMatcher(allowed: readonly string[]): (host: string) => boolean {
  const names = new Set(allowed.map(normalizeHost));
  return (host) => {
    try {
      return names.has(normalizeHost(new URL(`http://${host}/`).hostname));
    } catch {
      return false;
    }
  };
}

function hostCheck(allowed: readonly string[]): Plugin {
  const names = new Set(allowed.map(normalizeHost));
  return {
    onRequest({ url, endResponse, fetchAPI }) {
      const hostname = normalizeHost(url.hostname);
      if (!names.has(hostname))
        endResponse(
          new fetchAPI.Response(`host ${JSON.stringify(hostname.slice(0, 100))} is not served here\n`, {
            status: 403,
            headers: { 'content-type': 'text/plain; charset=utf-8' },
          }),
        );
    },
  };
}

// ---- the dashboard ------------------------------------------------------------------------

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const FALLBACK_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nasnet</title></head>
<body><h1>nasnet</h1><p>The dashboard is not installed here. The API is at <a href="/graphql">/graphql</a> (GraphiQL in a browser).</p></body></html>
`;

/**
 * Serves `/` (the dashboard's index.html) and `/dashboard/<file>` from one directory:
 * GET and HEAD only, no path outside the directory (`..`, encoded separators, NUL), no
 * dot-files, regular files only.
 */
function dashboard(directory: string): Plugin {
  const root = resolve(directory);
  const respond = (
    fetchAPI: { Response: typeof Response },
    status: number,
    body: BodyInit | null,
    type: string,
    method: string,
  ) =>
    new fetchAPI.Response(method === 'HEAD' ? null : body, {
      status,
      headers: { 'content-type': type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' },
    });
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      const path = url.pathname;
      if (path !== '/' && path !== '/index.html' && !path.startsWith('/dashboard/')) return;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        endResponse(
          new fetchAPI.Response('method not allowed\n', {
            status: 405,
            headers: { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' },
          }),
        );
        return;
      }
      const notFound = () => respond(fetchAPI, 404, 'not found\n', 'text/plain; charset=utf-8', request.method);
      let relative: string;
      if (path === '/' || path === '/index.html') {
        relative = 'index.html';
      } else {
        try {
          relative = decodeURIComponent(path.slice('/dashboard/'.length));
        } catch {
          endResponse(notFound());
          return;
        }
      }
      const segments = relative.split('/');
      if (
        relative.length === 0 ||
        relative.includes('\0') ||
        relative.includes('\\') ||
        segments.some((s) => s === '' || s === '.' || s === '..' || s.startsWith('.'))
      ) {
        endResponse(notFound());
        return;
      }
      const file = resolve(root, ...segments);
      if (!file.startsWith(root + sep)) {
        endResponse(notFound());
        return;
      }
      try {
        if (!(await stat(file)).isFile()) throw new Error('not a file');
        const body = await readFile(file);
        endResponse(
          respond(
            fetchAPI,
            200,
            new Uint8Array(body),
            CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
            request.method,
          ),
        );
      } catch {
        endResponse(
          relative === 'index.html'
            ? respond(fetchAPI, 200, FALLBACK_PAGE, 'text/html; charset=utf-8', request.method)
            : notFound(),
        );
      }
    },
  };
}
