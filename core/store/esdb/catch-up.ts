import {
  eventTypeFilter,
  streamNameFilter,
  type AllStreamRecordedEvent,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type EventStoreDBClient,
  type Filter,
  type Position,
} from '@eventstore/db-client';
import { NASNET_STREAM_PREFIXES } from '../../events/streams.ts';
import type { EventFilter } from '../port.ts';
import { encodePosition, toReadPosition } from './position.ts';

type CheckpointReached = (subscription: AllStreamSubscription, position: Position) => void;

/**
 * The server-side part of a port filter: a superset of what the port filter lets through, which
 * the adapter narrows with matchesFilter. The client takes one filter, on stream names or on
 * event types. Stream prefixes when the caller gave some, else nasnet's own; event types only
 * when the caller asked for types and gave no prefixes, because the server then also skips the
 * other events of nasnet streams. Types are sent as prefixes (the client's other form is a
 * regex); matchesFilter drops longer type names and the streams of other applications.
 */
export function serverFilter(filter: EventFilter | undefined, checkpointReached: CheckpointReached): Filter {
  if (!filter?.streamPrefixes?.length && filter?.types?.length) {
    return eventTypeFilter({ prefixes: [...filter.types], checkpointReached });
  }
  const prefixes = filter?.streamPrefixes?.length ? filter.streamPrefixes : NASNET_STREAM_PREFIXES;
  return streamNameFilter({ prefixes: [...prefixes], checkpointReached });
}

/** A stretch of $all being read: what is left is (last, head]. */
export interface ReadRange {
  /** Everything up to this position has been read; advanced as the read goes, so a retry resumes after it. */
  last: bigint;
  /** The newest position in $all when the read began: the read ends there. */
  readonly head: bigint;
}

/**
 * The events of $all in `range` that the server filter for `filter` lets through (and, after
 * a fallback, others too: the caller applies the port's filter). 6.2.1's readAll takes no
 * filter, so this reads through a filtered catch-up subscription, which lets the server skip
 * what the filter rules out. A subscription never ends by itself; it is ended by an event at or
 * past the head, by a checkpoint at or past it (the server has sent every event up to a
 * checkpoint before it), or by 'caughtUp' (EventStoreDB 23.10 and later). An older server goes
 * live silently when no event near the end matches, so after `idleMs` without a word from it
 * the rest of the range is read without the server filter: slower, never wrong.
 */
export async function* readRange(
  client: EventStoreDBClient,
  range: ReadRange,
  filter: EventFilter | undefined,
  idleMs: number,
): AsyncGenerator<AllStreamRecordedEvent> {
  const reachedHead = yield* readSubscribed(client, range, filter, idleMs);
  if (!reachedHead) yield* readUnfiltered(client, range);
}

/** Reads `range` through a filtered subscription; false when the server fell silent first. */
async function* readSubscribed(
  client: EventStoreDBClient,
  range: ReadRange,
  filter: EventFilter | undefined,
  idleMs: number,
): AsyncGenerator<AllStreamRecordedEvent, boolean> {
  let queue: PullQueue | undefined;
  const subscription = client.subscribeToAll({
    fromPosition: toReadPosition(range.last),
    filter: serverFilter(filter, (_subscription, position) => {
      queue?.signal({ kind: 'checkpoint', position: encodePosition(position) });
    }),
  });
  queue = new PullQueue(subscription);
  try {
    for (;;) {
      const item = await queue.next(idleMs);
      if (item.kind === 'idle') return false;
      if (item.kind === 'caughtUp') return true;
      if (item.kind === 'error') throw item.error;
      if (item.kind === 'end')
        throw new Error(`EventStoreDB ended a catch-up subscription to $all before position ${range.head}`);
      if (item.kind === 'checkpoint') {
        if (item.position > range.last) range.last = item.position;
        if (item.position >= range.head) return true;
        continue;
      }
      const position = encodePosition(item.event.position);
      // The port reads strictly after its start, whether or not the server does.
      if (position <= range.last) continue;
      if (position > range.head) return true;
      range.last = position;
      yield item.event;
      if (position === range.head) return true;
    }
  } finally {
    await subscription.unsubscribe().catch(() => undefined);
  }
}

/** Reads the rest of `range` with the client's unfiltered readAll, which reads from a position inclusively. */
async function* readUnfiltered(client: EventStoreDBClient, range: ReadRange): AsyncGenerator<AllStreamRecordedEvent> {
  const read = client.readAll({ fromPosition: toReadPosition(range.last) });
  try {
    for await (const { event } of read) {
      if (!event) continue;
      const position = encodePosition(event.position);
      if (position <= range.last) continue;
      if (position > range.head) return;
      range.last = position;
      yield event;
      if (position === range.head) return;
    }
  } finally {
    await read.cancel();
  }
}

type Pulled =
  | { kind: 'event'; event: AllStreamRecordedEvent }
  | { kind: 'checkpoint'; position: bigint }
  | { kind: 'caughtUp' }
  | { kind: 'error'; error: unknown }
  | { kind: 'end' }
  /** Nothing came from the server for the idle time. */
  | { kind: 'idle' };

/** Events queued before the subscription is paused, and the level that resumes it. */
const HIGH_WATER = 256;
const LOW_WATER = 64;

/**
 * A subscription's pushes as pulls, in the order the server sent them. The client raises
 * checkpoints, 'caughtUp' and errors as they come off the wire, while events sent before them
 * may still sit in its buffer; such a signal is queued only once that buffer is empty, so it
 * never overtakes an event. The subscription is paused while the reader lags: during catch-up
 * the server waits, and nothing piles up in memory.
 */
class PullQueue {
  private readonly items: Pulled[] = [];
  private readonly held: Pulled[] = [];
  private wake: (() => void) | null = null;
  /** Whether the server has answered: the idle time only counts from then, not while connecting. */
  private answered = false;

  constructor(private readonly subscription: AllStreamSubscription) {
    subscription.on('confirmation', () => {
      this.answered = true;
      this.poke();
    });
    subscription.on('data', ({ event }: AllStreamResolvedEvent) => {
      if (event) this.add({ kind: 'event', event });
      this.release();
      if (this.items.length >= HIGH_WATER) subscription.pause();
    });
    subscription.on('caughtUp', () => this.signal({ kind: 'caughtUp' }));
    subscription.on('error', (error) => this.signal({ kind: 'error', error }));
    // 'end' comes after the last buffered event by itself.
    subscription.on('end', () => this.add({ kind: 'end' }));
  }

  signal(item: Pulled): void {
    this.held.push(item);
    this.release();
  }

  /** The next item, or `idle` when the server has said nothing for `idleMs` since it answered. */
  async next(idleMs: number): Promise<Pulled> {
    while (this.items.length === 0) {
      const woken = await this.wait(this.answered ? idleMs : undefined);
      if (!woken && this.items.length === 0) return { kind: 'idle' };
    }
    const item = this.items.shift()!;
    if (this.items.length <= LOW_WATER && this.subscription.isPaused()) this.subscription.resume();
    return item;
  }

  private wait(ms: number | undefined): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => resolve(false), ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  private add(item: Pulled): void {
    this.answered = true;
    this.items.push(item);
    this.poke();
  }

  private poke(): void {
    this.wake?.();
    this.wake = null;
  }

  private release(): void {
    if (this.subscription.readableLength > 0) return;
    for (const item of this.held.splice(0)) this.add(item);
  }
}
