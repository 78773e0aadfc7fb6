import { GraphQLError } from 'graphql';

/** An error the client caused: its message reaches the client (unexpected errors are masked). */
export function badInput(message: string, code = 'BAD_USER_INPUT'): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

/** Echoes a client's string in a message without echoing a hostile payload whole. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

// Stream names are built from ids; an id that could not name a stream names nothing here.
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
export const isId = (value: string): boolean => ID_PATTERN.test(value);

/** A `first`/`top` argument within 1..max; more is an error, not a truncation. */
export function pageSize(name: string, value: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max)
    throw badInput(`${name} must be between 1 and ${max} (got ${value})`);
  return value;
}

/** A global-position cursor (`after` of the log's connections). */
export function position(name: string, value: string): bigint {
  if (!/^\d{1,40}$/.test(value))
    throw badInput(
      `${name} must be a cursor from a previous page (a global position, digits only), got ${quote(value)}`,
      'INVALID_CURSOR',
    );
  return BigInt(value);
}
