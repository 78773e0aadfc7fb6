import { createSchema, createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { GraphqlContext, ServerServices } from './context.ts';
import type { BearerCheck } from './http/bearer.ts';
import { dashboard } from './http/dashboard-files.ts';
import { errorShape } from './http/error-shape.ts';
import { requestGuard } from './http/request-guard.ts';
import { hostCheck } from './http/host-check.ts';
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
  return createYoga<ServerContext, GraphqlContext>({
    schema: createSchema<GraphqlContext>({ typeDefs, resolvers }),
    graphqlEndpoint: '/graphql',
    // Stacks and SQL stay in the server's log; clients get "Unexpected error." for anything not a GraphQLError.
    maskedErrors: { isDev: false },
    logging: setup.logging === false ? false : 'warn',
    graphiql: { title: 'nasnet', defaultQuery: DEFAULT_QUERY },
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
      ...limitPlugins(services.limits),
      ...(setup.cachePlugin ? [setup.cachePlugin] : []),
      errorShape(),
    ],
  });
}
