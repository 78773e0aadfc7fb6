import type { IncomingMessage, ServerResponse } from 'node:http';
import type { YogaServerInstance } from 'graphql-yoga';
import type { IncrementalReport } from '../core/audit/audit-store.ts';
import type { EventStore } from '../core/store/port.ts';
import type { SqliteConnection } from '../core/store/sqlite/connection.ts';
import type { GraphqlContext } from './context.ts';
import { bearerCheck } from './http/bearer.ts';
import { answerFromCache, fastPathCandidate } from './http/cache-fast-path.ts';
import { toOriginForm } from './http/request-target.ts';
import { DEFAULT_DASHBOARD_DIR } from './http/dashboard-files.ts';
import { hostMatcher } from './http/host-check.ts';
import { graphqlSse } from './http/graphql-sse.ts';
import { STREAM_ENDPOINT } from './http/request-guard.ts';
import { resolveLimits, type Limits } from './limits.ts';
import { createResponseCache, type ResponseCache } from './response-cache.ts';
import { createServices } from './services.ts';
import { createNasnetYoga, type ServerContext } from './yoga.ts';

export { DEFAULT_LIMITS, type Limits } from './limits.ts';
export { DEFAULT_DASHBOARD_DIR } from './http/dashboard-files.ts';

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
  auditExperiment?: (experimentId: string) => Promise<IncrementalReport>;
  /** Log requests' unexpected errors (with stacks) on the console; they never reach clients. Default true. */
  logging?: boolean;
  /** Recorded in the ExperimentCreated events of createExperiment (default "unknown"). */
  codeVersion?: string;
  /** Where the controllers this server runs say how they ended (default: stderr, unless logging is false). */
  log?: (message: string) => void;
}

export interface GraphqlServer {
  /** The GraphQL handler; `yoga.fetch(url, init)` serves a request without a socket. */
  yoga: YogaServerInstance<ServerContext, GraphqlContext>;
  /**
   * A node:http request listener for everything: /graphql, /graphql/stream (graphql-sse), the
   * dashboard at /, /dashboard/<file>, GraphiQL's files at /graphiql/<file>. Repeated queries
   * POSTed to /graphql are answered from stored bytes here, before yoga (see response-cache.ts).
   */
  handle: (request: IncomingMessage, response: ServerResponse) => void;
  /** The response cache's counts (hits, misses, stored); undefined with `responseCache: false`. */
  readonly cacheStats?: Readonly<ResponseCache['stats']>;
  /**
   * Ends open subscriptions and stops the controllers this server runs (each records
   * ExperimentStopped; resumeExperiment or `nasnet resume` continues it). The store and read
   * models stay open: they are the caller's.
   */
  close(): Promise<void>;
}

export function createGraphqlServer(options: GraphqlServerOptions): GraphqlServer {
  const limits = resolveLimits(options.limits);
  const log = options.log ?? (options.logging === false ? () => {} : (message: string) => process.stderr.write(`${message}\n`));
  const services = createServices({ ...options, log }, limits);
  const cache =
    options.responseCache === false
      ? null
      : createResponseCache({ db: services.db, maxEntries: 500, maxBytes: 32 * 1024 * 1024 });
  const hostAllowed = options.allowedHosts ? hostMatcher(options.allowedHosts) : () => true;
  const sse = graphqlSse(STREAM_ENDPOINT);
  const yoga = createNasnetYoga({
    services,
    bearer: bearerCheck(options.token),
    dashboardDir: options.dashboardDir ?? DEFAULT_DASHBOARD_DIR,
    allowedHosts: options.allowedHosts,
    cachePlugin: cache?.plugin ?? null,
    graphqlSsePlugin: sse.plugin,
    logging: options.logging,
  });

  return {
    yoga,
    handle: (request, response) => {
      if (!toOriginForm(request, response)) return;
      if (!cache || !fastPathCandidate(request, limits.maxRequestBytes, hostAllowed)) {
        void yoga.requestListener(request, response);
        return;
      }
      void answerFromCache(cache, request, response, () => void yoga.requestListener(request, response));
    },
    cacheStats: cache?.stats,
    async close() {
      await sse.close();
      await Promise.all([...services.subscriptions].map((subscription) => subscription.return().catch(() => undefined)));
      services.subscriptions.clear();
      await services.controllers.close();
      await yoga.dispose();
    },
  };
}
