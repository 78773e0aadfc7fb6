import { StoreArgumentError } from './errors.ts';

export const DEFAULT_STORE_ADDRESS = 'sqlite:.nasnet/nasnet.db';

/** The schema a PostgreSQL store lives in when the address names none. */
export const DEFAULT_POSTGRES_SCHEMA = 'nasnet';

export type StoreAddress = { kind: 'sqlite'; path: string } | { kind: 'esdb'; connectionString: string } | PostgresAddress;

export interface PostgresAddress {
  kind: 'postgres';
  /** The address for the driver, without `schema`. */
  connectionString: string;
  /** Where the store's tables live: several stores can share one database. */
  schema: string;
  /** The address with its password hidden, for messages. */
  display: string;
}

const ADDRESS_FORMS = 'sqlite:<path>, postgres://user@host:5432/db[?schema=name] or esdb://host:port';

/** `sqlite:<path>` (the embedded default), `postgres://…` (PostgreSQL) or `esdb://host:port?tls=false` (EventStoreDB). */
export function parseStoreAddress(address: string = DEFAULT_STORE_ADDRESS): StoreAddress {
  if (address.startsWith('sqlite:')) {
    const path = address.slice('sqlite:'.length);
    if (path.length === 0)
      throw new StoreArgumentError('store', address, 'needs a file path after sqlite: (e.g. sqlite:.nasnet/nasnet.db)');
    return { kind: 'sqlite', path };
  }
  if (/^postgres(ql)?:\/\//.test(address)) return parsePostgresAddress(address);
  if (/^esdb(\+discover)?:\/\//.test(address)) return { kind: 'esdb', connectionString: address };
  throw new StoreArgumentError('store', hidePassword(address), `must be ${ADDRESS_FORMS}`);
}

/** Schema names become part of SQL and of a NOTIFY channel: plain lower-case identifiers only. */
const SCHEMA = /^[a-z_][a-z0-9_]{0,50}$/;

export function parsePostgresAddress(address: string): PostgresAddress {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new StoreArgumentError('store', hidePassword(address), 'is not a valid postgres:// URL');
  }
  const schema = url.searchParams.get('schema') ?? DEFAULT_POSTGRES_SCHEMA;
  url.searchParams.delete('schema');
  const display = hidePassword(address);
  if (!SCHEMA.test(schema)) {
    throw new StoreArgumentError(
      'store',
      display,
      `names schema ${JSON.stringify(schema)}: use 1-51 lower-case letters, digits or _, not starting with a digit`,
    );
  }
  return { kind: 'postgres', connectionString: url.toString(), schema, display };
}

function hidePassword(address: string): string {
  return address.replace(/^([a-z+]+:\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}
