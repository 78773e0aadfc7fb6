import { createSchema, createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { GraphqlContext, ServerServices } from './context.ts';
import type { BearerCheck } from './http/bearer.ts';
import { dashboard } from './http/dashboard-files.ts';
import { errorShape } from './http/error-shape.ts';
import { graphiqlAssets } from './http/graphiql-assets.ts';
import { graphiqlWhereServed, renderGraphiql } from './http/graphiql-page.ts';
import { ENDPOINT, requestGuard } from './http/request-guard.ts';
import { hostCheck, hostMatcher } from './http/host-check.ts';
import { limitPlugins } from './limits.ts';
import { createLoaders } from './loaders.ts';
import { resolvers } from './resolvers/index.ts';
import { typeDefs } from './schema.ts';

/** Yoga's server context: node:http adds {req, res}, which nothing here reads. */
export type ServerContext = {};

export interface YogaSetup {
  services: ServerServices;
  bearer: BearerCheck;
  dashboardDir: string;
  allowedHosts: readonly string[] | undefined;
  /** The response cache's plugin; null runs every query. */
  cachePlugin: Plugin | null;
  /** graphql-sse's protocol at its own endpoint (http/graphql-sse.ts): after the checks every request passes. */
  graphqlSsePlugin: Plugin;
  logging: boolean | undefined;
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

export function createNasnetYoga(setup: YogaSetup): YogaServerInstance<ServerContext, GraphqlContext> {
  const { services, bearer } = setup;
  const hostAllowed = setup.allowedHosts ? hostMatcher(setup.allowedHosts) : () => true;
  return createYoga<ServerContext, GraphqlContext>({
    schema: createSchema<GraphqlContext>({ typeDefs, resolvers }),
    graphqlEndpoint: ENDPOINT,
    // Stacks and SQL stay in the server's log; clients get "Unexpected error." for anything not a GraphQLError.
    maskedErrors: { isDev: false },
    logging: setup.logging === false ? false : 'warn',
    graphiql: graphiqlWhereServed({ title: 'nasnet', defaultQuery: DEFAULT_QUERY }, ENDPOINT, hostAllowed),
    // Served from this server's copy of GraphiQL (no CDN): it works offline.
    renderGraphiQL: renderGraphiql,
    landingPage: false,
    // Same-origin only: the dashboard is served from here, and another site's page must not read a local search.
    cors: false,
    batching: false,
    multipart: false,
    context: ({ request }) => ({
      services,
      loaders: createLoaders(services.db, services.store),
      authorized: bearer.authorized(request.headers.get('authorization')),
      tokenConfigured: bearer.configured,
    }),
    plugins: [
      ...(setup.allowedHosts ? [hostCheck(setup.allowedHosts)] : []),
      requestGuard(),
      dashboard(setup.dashboardDir),
      graphiqlAssets(),
      ...limitPlugins(services.limits),
      setup.graphqlSsePlugin,
      ...(setup.cachePlugin ? [setup.cachePlugin] : []),
      errorShape(),
    ],
  });
}
