import { Option } from 'commander';
import { DEFAULT_STORE_ADDRESS } from '../core/store/address.ts';
import { openStore } from '../core/store/open-store.ts';
import type { EventStore } from '../core/store/port.ts';

const ADDRESS_FORMS = 'sqlite:<path>, postgres://user@host/db[?schema=name] or esdb://host:port';

/**
 * `--store <address>`, one declaration for every command, so the address forms and the default
 * cannot drift apart. `purpose` leads the help where a command's use of the store is worth a
 * word (`event store to record the transfer in`).
 */
export function storeOption(purpose?: string): Option {
  return new Option('--store <address>', purpose ? `${purpose}: ${ADDRESS_FORMS}` : ADDRESS_FORMS).default(DEFAULT_STORE_ADDRESS);
}

/** Runs `use` on the store at `address` and closes it however `use` ends, so no connection or poller outlives the command. */
export async function withStore<T>(address: string, use: (store: EventStore) => Promise<T>): Promise<T> {
  const store = await openStore(address);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/**
 * withStore for a command that opens the store only once its input has been checked, so bad
 * input creates no store file: `open` opens it on the first call (later calls share it).
 */
export async function withStoreOnDemand<T>(address: string, use: (open: () => Promise<EventStore>) => Promise<T>): Promise<T> {
  // Typed by assertion: TypeScript cannot see `open` assign it, and would narrow it to null.
  let opening = null as Promise<EventStore> | null;
  try {
    return await use(() => (opening ??= openStore(address)));
  } finally {
    // A store that failed to open has nothing to close; its error has reached `use` already.
    const store = await opening?.catch(() => null);
    await store?.close();
  }
}
