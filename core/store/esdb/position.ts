import { START as ESDB_START, type Position, type ReadPosition } from '@eventstore/db-client';
import { START } from '../port.ts';

const BITS = 64n;
const MAX_PART = (1n << BITS) - 1n;

/**
 * The port speaks of one bigint per global position; EventStoreDB has two, and orders $all
 * by (commit, prepare). Putting commit in the high 64 bits keeps that order under plain
 * bigint comparison, so checkpoints and `fromPosition` work as they do with SQLite.
 * The result can exceed 64 bits: store it as text or a bigint, never as a 64-bit integer.
 */
export function encodePosition({ commit, prepare }: Position): bigint {
  assertPart('commit', commit);
  assertPart('prepare', prepare);
  return (commit << BITS) | prepare;
}

export function decodePosition(position: bigint): Position {
  if (position < 0n || position >> (2n * BITS) !== 0n) {
    throw new RangeError(`${position}n is not an EventStoreDB position (a non-negative 128-bit bigint)`);
  }
  return { commit: position >> BITS, prepare: position & MAX_PART };
}

/** Where the client should start reading $all for "after `position`" (the client has its own START). */
export function toReadPosition(position: bigint): ReadPosition {
  return position === START ? ESDB_START : decodePosition(position);
}

function assertPart(name: string, value: bigint): void {
  if (value < 0n || value > MAX_PART) throw new RangeError(`${name} position ${value}n does not fit in 64 bits`);
}
