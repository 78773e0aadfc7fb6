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

/** Relay page arguments as a client sends them. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** Forwards (`first`/`after`, 20 without a size) or backwards (`last`/`before`), never a mix. */
export type PageRequest = { first: number; after: string | null; last?: undefined } | { last: number; before: string | null };

export function pageArguments(args: PageArgs, max: number): PageRequest {
  const given = (value: unknown) => value !== null && value !== undefined;
  if (given(args.first) && given(args.last)) throw badInput('give first or last, not both');
  if (given(args.after) && given(args.before)) throw badInput('give after or before, not both');
  const backwards = given(args.last) || given(args.before);
  if (backwards && given(args.first)) throw badInput('before goes with last, not first');
  if (!backwards && given(args.last)) throw badInput('after goes with first, not last');
  if (backwards) return { last: pageSize('last', args.last ?? 20, max), before: args.before ?? null };
  if (given(args.last)) throw badInput('after goes with first, not last');
  return { first: pageSize('first', args.first ?? 20, max), after: args.after ?? null };
}
