import { runProjector, openReadModels, type Projector } from '../core/projections/sqlite-projector.ts';
import { parseStoreAddress } from '../core/store/address.ts';
import type { SqliteConnection } from '../core/store/sqlite/connection.ts';
import type { EventStore } from '../core/store/port.ts';

export const DEFAULT_PROJECTIONS_PATH = '.nasnet/projections.db';

/** Where the read models live: in the SQLite store's own file, or (EventStoreDB) in a local SQLite file. */
export function readModelsPath(storeAddress: string, flag?: string): string {
  if (flag) return flag;
  const address = parseStoreAddress(storeAddress);
  return address.kind === 'sqlite' ? address.path : DEFAULT_PROJECTIONS_PATH;
}

export interface LiveReadModels {
  /** Brings the read models up to the head, then stops following. Never throws: read models can be rebuilt. */
  finish(): Promise<string | null>;
}

/**
 * Keeps the read models current while a command runs. A failure here never fails the search:
 * the log is the truth and `nasnet replay` rebuilds the tables from it; the failure is reported.
 */
export async function followReadModels(
  store: EventStore,
  path: string,
  warn: (message: string) => void,
): Promise<LiveReadModels> {
  let db: SqliteConnection | null = null;
  let projector: Projector | null = null;
  let failure: string | null = null;
  try {
    db = await openReadModels(path);
    projector = runProjector(store, db, {
      onError: (error) => {
        failure = (error as Error).message;
        warn(`read models stopped following the log (${failure}); rebuild them with: nasnet replay`);
      },
    });
  } catch (error) {
    failure = (error as Error).message;
    warn(`read models unavailable (${failure}); rebuild them with: nasnet replay`);
  }
  return {
    async finish() {
      try {
        if (projector && failure === null) await projector.caughtUp();
      } catch (error) {
        failure ??= (error as Error).message;
      }
      await projector?.stop().catch(() => {});
      await db?.close().catch(() => {});
      return failure;
    },
  };
}
