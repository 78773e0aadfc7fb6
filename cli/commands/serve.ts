import type { Command } from 'commander';
import { createServer } from 'node:http';
import { isIP } from 'node:net';
import { openReadModels, readCheckpoint, runProjector } from '../../core/projections/sqlite-projector.ts';
import { createThreadAuditor } from '../audit-thread.ts';
import { UsageError, wholeNumber } from '../flags.ts';
import { readModelsPath } from '../read-models.ts';
import { CODE_VERSION } from '../run-search.ts';
import { resolveServeToken } from '../serve-token.ts';
import { shutdownSignal } from '../shutdown.ts';
import { storeOption, withStore } from '../store-access.ts';

interface ServeOptions {
  store: string;
  port: number;
  host: string;
  token?: string;
  tokenFile?: string;
  projections?: string;
  json: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** `nasnet serve`: the GraphQL API and the dashboard over a store, kept current by a live projector. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the GraphQL API (GraphiQL at /graphql) and the dashboard (/), live while searches run in other processes')
    .addOption(storeOption())
    .option('--port <n>', 'TCP port (0: any free port)', wholeNumber('--port', 0), 4000)
    .option('--host <address>', 'address to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface)', '127.0.0.1')
    .option(
      '--token <secret>',
      'bearer token that mutations need (visible in `ps`: prefer $NASNET_TOKEN or --token-file); without one, mutations are refused',
    )
    .option('--token-file <path>', 'read the bearer token from the first line of this file')
    .option(
      '--projections <path>',
      'SQLite file of the read models (default: the store file, or .nasnet/projections.db for EventStoreDB)',
    )
    .option('--json', 'print {graphql, dashboard, store, position} as one JSON line once listening', false)
    .action(async (options: ServeOptions) => {
      if (options.port > 65_535) throw new UsageError(`--port must be at most 65535, got ${options.port}`);
      if (!LOOPBACK.has(options.host) && isIP(options.host) === 0 && !/^[A-Za-z0-9.-]+$/.test(options.host)) {
        throw new UsageError(`--host must be an IP address or a host name, got ${JSON.stringify(options.host)}`);
      }
      const note = (message: string) => process.stderr.write(`${message}\n`);
      const { token, warning } = await resolveServeToken({
        token: options.token,
        tokenFile: options.tokenFile,
        environment: process.env.NASNET_TOKEN,
      });
      if (warning) note(warning);

      // Loaded here, not at the top: every other command would pay for graphql-yoga's import.
      const { createGraphqlServer, DEFAULT_LIMITS } = await import('../../graphql/server.ts');
      await withStore(options.store, async (store) => {
        const path = readModelsPath(options.store, options.projections);
        // The projector writes through its own connection; queries read through another, so they never see a half-applied batch.
        const projectorDb = await openReadModels(path);
        const queryDb = await openReadModels(path);
        const head = await store.headPosition();
        const checkpoint = await readCheckpoint(projectorDb);
        if (checkpoint < head && !options.json)
          note(`read models at position ${checkpoint}, the log at ${head}: catching up before serving`);
        const projector = runProjector(store, projectorDb, {
          onError: (error) =>
            note(
              `read models stopped following the log (${(error as Error).message}); the API serves them as they stand. Rebuild with: nasnet replay`,
            ),
        });
        // On loopback, only loopback names: no other site's page can reach it through DNS rebinding.
        const allowedHosts = LOOPBACK.has(options.host) ? [...LOOPBACK] : undefined;
        const auditor = createThreadAuditor(options.store);
        const server = createGraphqlServer({
          store,
          readModels: queryDb,
          token,
          projector,
          allowedHosts,
          auditExperiment: auditor.audit,
          codeVersion: CODE_VERSION,
        });
        // Node refuses request heads over 16 KiB with a bare 431; a GET's query is in the head, and
        // GETs up to the documented request limit must reach GraphQL (which answers 413 past it).
        const http = createServer({ maxHeaderSize: DEFAULT_LIMITS.maxRequestBytes + 16 * 1024 }, server.handle);
        // Bounds how long a client may take to send a request; subscriptions (responses) are not affected.
        http.requestTimeout = 30_000;
        http.headersTimeout = 10_000;

        const closeAll = async () => {
          await server.close().catch(() => undefined);
          await auditor.close().catch(() => undefined);
          http.closeAllConnections();
          await new Promise<void>((done) => http.close(() => done()));
          await projector.stop().catch(() => undefined);
          await queryDb.close().catch(() => undefined);
          await projectorDb.close().catch(() => undefined);
        };

        try {
          await projector.caughtUp();
          await new Promise<void>((listening, failed) => {
            http.once('error', (error: NodeJS.ErrnoException) => {
              if (error.code === 'EADDRINUSE')
                failed(
                  new UsageError(
                    `--port ${options.port}: the address ${options.host}:${options.port} is in use (try another --port, or --port 0)`,
                  ),
                );
              else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND')
                failed(new UsageError(`--host ${options.host}: not an address of this machine`));
              else failed(error);
            });
            http.listen(options.port, options.host, () => listening());
          });
        } catch (error) {
          await closeAll();
          throw error;
        }

        const address = http.address();
        const port = typeof address === 'object' && address ? address.port : options.port;
        const host = options.host.includes(':') ? `[${options.host}]` : options.host;
        const base = `http://${host}:${port}`;
        const position = projector.position().toString();
        process.stdout.write(
          options.json
            ? `${JSON.stringify({ graphql: `${base}/graphql`, dashboard: `${base}/`, store: options.store, position, mutations: token !== undefined })}\n`
            : `GraphQL at ${base}/graphql, dashboard at ${base}/\n`,
        );
        if (!options.json) {
          note(
            `store ${options.store}, read models at position ${position}; ${token ? 'mutations need the bearer token' : 'mutations are off (no --token)'}; Ctrl-C stops`,
          );
        }
        if (!LOOPBACK.has(options.host))
          note(`warning: listening on ${options.host}: anyone who can reach this port can read every experiment`);

        const { signal, dispose } = shutdownSignal((name) => {
          if (!options.json) note(`${name}: closing the server`);
        });
        try {
          await new Promise<void>((done) => signal.addEventListener('abort', () => done(), { once: true }));
        } finally {
          dispose();
          await closeAll();
        }
      });
    });
}
