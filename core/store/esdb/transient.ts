import { DeadlineExceededError, NotLeaderError, TimeoutError, UnavailableError, isCommandError } from '@eventstore/db-client';

/** gRPC status UNAVAILABLE: the server is down, restarting, or not reachable right now. */
const GRPC_UNAVAILABLE = 14;

/**
 * True for errors after which the same read or subscription, started again, can succeed:
 * - UnavailableError: no connection, or the server is not ready or too busy (gRPC 14); the
 *   client reconnects (rediscovering a cluster) on the next call;
 * - NotLeaderError: the node stopped being leader; the client's next call goes to the new one;
 * - DeadlineExceededError: the call ran out of time;
 * - TimeoutError (gRPC ABORTED): among others, how the server drops a subscription whose client
 *   fell behind ("Consumer too slow ... Client resubscription required").
 * The client converts gRPC errors to these classes, but passes on unconverted the ones raised
 * while it opens a call; a raw status 14 is the same condition.
 */
export function isTransientError(error: unknown): boolean {
  if (
    error instanceof UnavailableError ||
    error instanceof NotLeaderError ||
    error instanceof DeadlineExceededError ||
    error instanceof TimeoutError
  ) {
    return true;
  }
  return error instanceof Error && !isCommandError(error) && 'code' in error && error.code === GRPC_UNAVAILABLE;
}

/** `Name: message`, for warnings: the class says whether the server was down, not leader, or slow. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const name = error.constructor.name === 'Error' ? error.name : error.constructor.name;
  return error.message ? `${name}: ${error.message}` : name;
}
