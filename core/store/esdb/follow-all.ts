import type {
  AllStreamRecordedEvent,
  AllStreamSubscription,
  EventStoreDBClient,
  Position,
  RecordedEvent as EsdbRecordedEvent,
} from '@eventstore/db-client';
import type { Subscriber } from 'rxjs';
import type { RecordedEvent } from '../../events/event.ts';
import { START, type EventFilter, type SubscribeOptions } from '../port.ts';
import { serverFilter } from './catch-up.ts';
import { encodePosition, toReadPosition } from './position.ts';
import type { Backoff } from '../backoff.ts';
import { describeError, isTransientError } from './transient.ts';

export interface EsdbSubscribeOptions extends SubscribeOptions {
  /**
   * Called with a position the server has scanned up to, when no event for this
   * subscription lies between the last one delivered and it. A projection can store it
   * as its checkpoint, so a restart after a long stretch of other events skips that stretch.
   */
  onCheckpoint?: (position: bigint) => void;
}

/** What a follower needs from the store. */
export interface FollowContext {
  client: EventStoreDBClient;
  /** The port's event for a record that `exposes` accepted; throws for one of ours it cannot read. */
  read: (recorded: EsdbRecordedEvent) => RecordedEvent;
  /** True for records the port returns under `filter` (warns about foreign ones). */
  exposes: (recorded: EsdbRecordedEvent, filter: EventFilter | undefined) => boolean;
  warn: (message: string) => void;
  backoff: () => Backoff;
}

/**
 * One port subscription: a subscribeToAll, replaced by a new one after a transient error
 * (server restart, leader change, a consumer the server found too slow), so such an error
 * costs a pause instead of the subscription. The new one starts after the last position this
 * one delivered or skipped, so nothing is missed and nothing is delivered twice.
 */
export class AllFollower {
  /** Last position delivered or skipped: where a resubscription starts (exclusively). */
  private delivered: bigint;
  /** Last position given to onCheckpoint or delivered: checkpoints behind it are not reported. */
  private reported: bigint;
  private current: AllStreamSubscription | null = null;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly backoff: Backoff;

  constructor(
    private readonly context: FollowContext,
    private readonly subscriber: Subscriber<RecordedEvent>,
    private readonly options: EsdbSubscribeOptions,
  ) {
    this.delivered = options.fromPosition ?? START;
    this.reported = this.delivered;
    this.backoff = context.backoff();
  }

  start(): void {
    this.retry = undefined;
    if (this.stopped) return;
    try {
      this.current = this.subscribe();
    } catch (error) {
      // Runs from a timer on resubscription, where a throw would crash the process.
      this.subscriber.error(error);
    }
  }

  /** Ends the subscription and any pending resubscription. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.drop();
  }

  private subscribe(): AllStreamSubscription {
    const subscription = this.context.client.subscribeToAll({
      fromPosition: toReadPosition(this.delivered),
      filter: serverFilter(this.options.filter, (sub, position) => this.checkpoint(sub, position)),
    });
    // A dropped subscription may still emit what it had buffered: the next one reads that again.
    subscription.on('data', ({ event }) => {
      if (subscription === this.current) this.receive(event);
    });
    subscription.on('error', (error) => {
      if (subscription === this.current) this.fail(error);
    });
    subscription.on('end', () => {
      if (subscription === this.current) this.subscriber.complete();
    });
    return subscription;
  }

  private receive(event: AllStreamRecordedEvent | undefined): void {
    this.backoff.reset();
    if (!event) return;
    const position = encodePosition(event.position);
    // Guards the start and every resubscription: the port's fromPosition is exclusive.
    if (position <= this.delivered) return;
    this.delivered = position;
    if (position > this.reported) this.reported = position;
    if (!this.context.exposes(event, this.options.filter)) return;
    let recorded: RecordedEvent;
    try {
      recorded = this.context.read(event);
    } catch (error) {
      this.subscriber.error(error);
      return;
    }
    this.subscriber.next(recorded);
  }

  private checkpoint(subscription: AllStreamSubscription, position: Position): void {
    const { onCheckpoint } = this.options;
    const checkpoint = encodePosition(position);
    // A checkpoint may trail events already delivered, and events may still sit in the
    // client's buffer; reporting either would make a resumed projection redo or skip events.
    // Skipped checkpoints cost nothing: another one follows.
    if (!onCheckpoint || subscription !== this.current || checkpoint <= this.reported || subscription.readableLength > 0) {
      return;
    }
    this.reported = checkpoint;
    try {
      onCheckpoint(checkpoint);
    } catch (error) {
      this.subscriber.error(error);
    }
  }

  private fail(error: unknown): void {
    if (!isTransientError(error)) {
      this.subscriber.error(error);
      return;
    }
    this.drop();
    const delay = this.backoff.delay();
    this.context.warn(
      `EventStoreDB subscription to $all failed (${describeError(error)}); subscribing again after position ${this.delivered} in ${delay} ms`,
    );
    this.retry = setTimeout(() => this.start(), delay);
  }

  private drop(): void {
    const subscription = this.current;
    this.current = null;
    // A subscription that failed has reported that through 'error' already.
    subscription?.unsubscribe().catch(() => undefined);
  }
}
