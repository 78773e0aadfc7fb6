import { hostname } from 'node:os';
import { createIncrementalAuditor } from '../core/audit/audit-store.ts';
import type { IncrementalReport } from '../core/audit/audit-store.ts';
import type { EventStore } from '../core/store/port.ts';
import type { SqliteConnection } from '../core/store/sqlite/connection.ts';
import { auditRunner } from './audit-runner.ts';
import { createControllerHost } from './controller-host.ts';
import type { ServerServices } from './context.ts';
import type { Limits } from './limits.ts';

/** The server options the services are made of (see GraphqlServerOptions). */
export interface ServicesOptions {
  store: EventStore;
  readModels: SqliteConnection;
  projector?: { caughtUp(): Promise<void> };
  writerId?: string;
  auditExperiment?: (experimentId: string) => Promise<IncrementalReport>;
  /** Where the controllers this server runs say how they ended. */
  log?: (message: string) => void;
  /** Recorded in ExperimentCreated by createExperiment (the CLI passes the package version). */
  codeVersion?: string;
}

/** How long stopExperiment waits for the read models to show the stop before answering with what they have. */
const CAUGHT_UP_WAIT_MS = 3_000;

export function createServices(options: ServicesOptions, limits: Limits): ServerServices {
  const { store, projector } = options;
  const writerId = options.writerId ?? `graphql:${hostname()}/${process.pid}`;
  return {
    store,
    db: options.readModels,
    limits,
    writerId,
    codeVersion: options.codeVersion ?? 'unknown',
    readModelsCaughtUp: projector
      ? () =>
          Promise.race([
            projector.caughtUp().catch(() => undefined),
            new Promise<void>((done) => setTimeout(done, CAUGHT_UP_WAIT_MS).unref()),
          ])
      : undefined,
    audit: auditRunner(store, options.auditExperiment ?? createIncrementalAuditor(store).audit),
    subscriptions: new Set(),
    controllers: createControllerHost({ store, writerId, log: options.log ?? (() => {}) }),
  };
}
