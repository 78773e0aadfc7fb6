import type { IncrementalReport } from '../core/audit/audit-store.ts';
import type { EventStore } from '../core/store/port.ts';
import type { SqliteConnection } from '../core/store/sqlite/connection.ts';
import type { ControllerHost } from './controller-host.ts';
import type { Limits } from './limits.ts';
import type { Loaders } from './loaders.ts';

/** What lives as long as the server: shared by every request. */
export interface ServerServices {
  store: EventStore;
  /** The connection queries read the read models through (never the projector's). */
  db: SqliteConnection;
  limits: Limits;
  /** Resolves once the read models reflect the log's head as of the call (a live projector); absent, reads may lag a write. */
  readModelsCaughtUp?: () => Promise<void>;
  /** The writer id recorded in events this server appends. */
  writerId: string;
  /** The code version createExperiment records. */
  codeVersion: string;
  /** Runs audits one at a time, reusing a report while the log has not moved. */
  audit(experimentId: string): Promise<IncrementalReport>;
  /** Open subscriptions, ended when the server closes. */
  subscriptions: Set<{ return(): Promise<unknown> }>;
  /** The controllers this server runs (createExperiment, resumeExperiment). */
  controllers: ControllerHost;
}

/** The GraphQL context of one request. */
export interface GraphqlContext {
  services: ServerServices;
  loaders: Loaders;
  /** Whether the request carried the bearer token the server was started with. */
  authorized: boolean;
  /** Whether the server was started with a token at all (without one, mutations are off). */
  tokenConfigured: boolean;
}
