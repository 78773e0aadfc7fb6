import { StoreArgumentError } from './errors.ts';
import type { ExpectedRevision, ReadStreamOptions } from './port.ts';

/** Checks shared by every adapter, so all refuse the same inputs with the same errors. */

const MAX_STREAM_NAME = 200;

export function assertStreamName(stream: unknown): asserts stream is string {
  if (typeof stream !== 'string' || stream.length === 0 || stream.length > MAX_STREAM_NAME) {
    throw new StoreArgumentError('stream', stream, `must be a string of 1-${MAX_STREAM_NAME} characters`);
  }
  // `$` streams are EventStoreDB's system streams; control characters break logs and tools.
  if (stream.startsWith('$') || /[\u0000-\u001f\u007f]/.test(stream)) {
    throw new StoreArgumentError('stream', stream, 'must not start with $ or contain control characters');
  }
}

export function assertExpectedRevision(value: unknown): asserts value is ExpectedRevision {
  if (value === 'no_stream' || value === 'any' || value === 'stream_exists') return;
  if (typeof value === 'bigint' && value >= 0n) return;
  throw new StoreArgumentError('expectedRevision', value, "must be 'no_stream', 'any', 'stream_exists' or a revision >= 0n");
}

export function assertReadStreamOptions({ fromRevision, maxCount }: ReadStreamOptions): void {
  if (maxCount !== undefined && !(Number.isSafeInteger(maxCount) && maxCount >= 0)) {
    throw new StoreArgumentError('maxCount', maxCount, 'must be a non-negative integer');
  }
  if (fromRevision !== undefined && (typeof fromRevision !== 'bigint' || fromRevision < 0n)) {
    throw new StoreArgumentError('fromRevision', fromRevision, 'must be a revision >= 0n');
  }
}
