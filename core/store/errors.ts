/** The expected revision did not match: another writer got there first. */
export class WrongExpectedVersionError extends Error {
  constructor(
    readonly stream: string,
    /** What the caller expected: a revision, or `no_stream` / `stream_exists`. */
    readonly expected: bigint | 'no_stream' | 'stream_exists' | 'any',
    /** The stream's revision when the append was attempted, or `no_stream`. */
    readonly actual: bigint | 'no_stream',
  ) {
    super(`append to ${stream} expected revision ${String(expected)} but the stream is at ${String(actual)}`);
    this.name = 'WrongExpectedVersionError';
  }
}

/** The first event of an append is stored where the append would go, but the batch differs: not a retry. */
export class DuplicateEventIdError extends Error {
  constructor(
    readonly stream: string,
    readonly eventId: string,
    readonly storedIn: string | null,
  ) {
    super(
      `event id ${eventId} is already stored${storedIn ? ` in ${storedIn}` : ''} by an append with other events; appending it to ${stream} is not a retry of that append`,
    );
    this.name = 'DuplicateEventIdError';
  }
}

/** The store cannot be opened as it is; nothing was changed. */
export class StoreOpenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreOpenError';
  }
}

/** Bad input to a store call (not an event problem): stream name, revision, batch. */
export class StoreArgumentError extends TypeError {
  constructor(
    readonly field: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`${field} ${reason} (got ${typeof value === 'bigint' ? `${value}n` : JSON.stringify(value)})`);
    this.name = 'StoreArgumentError';
  }
}
