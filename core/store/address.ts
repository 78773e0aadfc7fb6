import { StoreArgumentError } from './errors.ts';

export const DEFAULT_STORE_ADDRESS = 'sqlite:.nasnet/nasnet.db';

export type StoreAddress = { kind: 'sqlite'; path: string } | { kind: 'esdb'; connectionString: string };

/** `sqlite:<path>` (the embedded default) or `esdb://host:port?tls=false` (EventStoreDB). */
export function parseStoreAddress(address: string = DEFAULT_STORE_ADDRESS): StoreAddress {
  if (address.startsWith('sqlite:')) {
    const path = address.slice('sqlite:'.length);
    if (path.length === 0)
      throw new StoreArgumentError('store', address, 'needs a file path after sqlite: (e.g. sqlite:.nasnet/nasnet.db)');
    return { kind: 'sqlite', path };
  }
  if (/^esdb(\+discover)?:\/\//.test(address)) return { kind: 'esdb', connectionString: address };
  throw new StoreArgumentError('store', address, 'must be sqlite:<path> or esdb://host:port');
}
