import type { EventCatalogue } from '../events/catalogue-registry.ts';
import { parseStoreAddress } from './address.ts';
import type { EventStore } from './port.ts';

export interface OpenStoreOptions {
  catalogue?: EventCatalogue;
}

/** Opens the store an address names. Adapters load lazily so SQLite users never load a network client. */
export async function openStore(address?: string, options: OpenStoreOptions = {}): Promise<EventStore> {
  const parsed = parseStoreAddress(address);
  if (parsed.kind === 'sqlite') {
    const { openSqliteStore } = await import('./sqlite/sqlite-store.ts');
    return openSqliteStore(parsed.path, options);
  }
  if (parsed.kind === 'postgres') {
    const { openPostgresStore } = await import('./postgres/postgres-store.ts');
    return openPostgresStore(parsed, options);
  }
  const { openEsdbStore } = await import('./esdb/esdb-store.ts');
  return openEsdbStore(parsed.connectionString, options);
}
