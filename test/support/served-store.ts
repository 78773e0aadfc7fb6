import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openReadModels, runProjector, type Projector } from '../../core/projections/sqlite-projector.ts';
import type { SqliteConnection } from '../../core/store/sqlite/connection.ts';
import type { SqliteEventStore } from '../../core/store/sqlite/sqlite-store.ts';
import type { GraphqlServerOptions } from '../../graphql/server.ts';

export interface ServedStore {
  /** http://127.0.0.1:<port> */
  base: string;
  /** The connection queries read through (the projector writes through one of its own). */
  readModels: SqliteConnection;
  projector: Projector;
  close(): Promise<void>;
}

/**
 * The store served as `nasnet serve` serves it, for the browser suites: read models in the
 * store's file at `path`, caught up, a projector following, GraphQL and the dashboard on a
 * free local port.
 */
export async function serveStore(
  store: SqliteEventStore,
  path: string,
  options: Omit<GraphqlServerOptions, 'store' | 'readModels' | 'projector'> = {},
): Promise<ServedStore> {
  const projectorDb = await openReadModels(path);
  const readModels = await openReadModels(path);
  const projector = runProjector(store, projectorDb);
  await projector.caughtUp();
  const { createGraphqlServer } = await import('../../graphql/server.ts');
  const graphql = createGraphqlServer({ ...options, store, readModels, projector });
  const http = createServer(graphql.handle);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    readModels,
    projector,
    async close() {
      await graphql.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
      await projector.stop();
      await projectorDb.close();
      await readModels.close();
    },
  };
}
