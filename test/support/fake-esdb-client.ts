import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import {
  ANY,
  BACKWARDS,
  END,
  EVENT_TYPE,
  MaxAppendSizeExceededError,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  STREAM_NAME,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AllStreamRecordedEvent,
  type AllStreamSubscription,
  type AppendExpectedRevision,
  type AppendResult,
  type AppendToStreamOptions,
  type CurrentRevision,
  type EventData,
  type Filter,
  type JSONRecordedEvent,
  type Position,
  type ReadAllOptions,
  type ReadStreamOptions,
  type SubscribeToAllOptions,
} from '@eventstore/db-client';
import { NASNET_CATALOGUE } from '../../core/events/catalogue-registry.ts';
import type { NasnetEvent } from '../../core/events/event.ts';
import { createEventValidator } from '../../core/events/validate.ts';
import { appendSize, toEsdbEvent } from '../../core/store/esdb/convert.ts';
import { encodePosition } from '../../core/store/esdb/position.ts';
import { prepareAppend } from '../../core/store/prepare-append.ts';

/**
 * An in-memory stand-in for an EventStoreDB server and its client (@eventstore/db-client 6.2.1),
 * for the calls the adapter makes: appendToStream, readStream, readAll, subscribeToAll, dispose.
 * It follows the server where the adapter depends on it, as read in the server's source:
 * - positions grow with the log; reads of $all start at `fromPosition` inclusively,
 *   subscriptions strictly after it (`inclusiveSubscribe` turns that off);
 * - a retried append (same ids where the expected revision puts them) returns the original result;
 *   one that starts like a stored batch and goes on differently is a wrong expected version;
 * - a filtered subscription sends a checkpoint every `checkpointEvery` events it considered
 *   (32 on a real server), never at the end of the log, and 'caughtUp' only when `caughtUp` is set
 *   (servers 23.10 and later);
 * - a subscription emits 'confirmation' first; errors reach it as 'error' events, as the
 *   client emits them, without 'end'.
 * Faults are queued per call: `faults.readAll`, `faults.subscribe`, `faults.append`.
 * It does not model deleted streams, links, or several nodes.
 */
export class FakeEventStoreDB {
  readonly log: AllStreamRecordedEvent[] = [];
  readonly calls = { append: 0, readStream: 0, readAll: [] as ReadAllOptions[], subscribe: [] as SubscribeToAllOptions[] };
  /** Each fault is taken by the next call of its kind: it fails after `after` events (0: at once). */
  readonly faults = { readAll: [] as Fault[], subscribe: [] as Fault[], append: [] as Error[] };
  /** Called as each subscription starts, before it reads anything. */
  beforeSubscribe: ((options: SubscribeToAllOptions) => void) | undefined;
  /** Subscriptions running now, and every one ever opened. */
  readonly subscriptions = new Set<FakeSubscription>();
  readonly opened: FakeSubscription[] = [];
  private readonly appended = new Set<() => void>();
  private next = 1_000n;

  constructor(readonly settings: FakeSettings = {}) {
    // A server's log starts with its own records, which the adapter must never return.
    this.record('$epoch-information', { type: '$epoch-information', data: new Uint8Array([1]) });
    this.record('$settings', { type: '$settings', data: { $userStreamAcl: {} } });
  }

  /** A client on this server, as `new EsdbEventStore(fake.client() as unknown as EventStoreDBClient)` takes it. */
  client(): FakeEsdbClient {
    return new FakeEsdbClient(this);
  }

  /** Stores a record as another writer (another application, the server) would: no checks. */
  record(stream: string, fields: RawRecord): AllStreamRecordedEvent {
    const revision = BigInt(this.stream(stream).length);
    const record = {
      streamId: stream,
      id: fields.id ?? crypto.randomUUID(),
      isJson: fields.isJson ?? !(fields.data instanceof Uint8Array),
      revision,
      type: fields.type,
      created: new Date(),
      data: fields.data,
      metadata: fields.metadata,
      position: this.takePosition(),
    } as AllStreamRecordedEvent;
    this.log.push(record);
    this.notify();
    return record;
  }

  /** Removes a record from $all, as a scavenge of a deleted or truncated stream would. */
  remove(position: bigint): void {
    const at = this.log.findIndex((record) => encodePosition(record.position) === position);
    assert.ok(at >= 0, `no record at ${position}`);
    this.log.splice(at, 1);
  }

  /** Fails every running subscription, as a server restart would. */
  breakSubscriptions(error: Error): void {
    for (const subscription of [...this.subscriptions]) subscription.fail(error);
  }

  stream(name: string): AllStreamRecordedEvent[] {
    return this.log.filter((record) => record.streamId === name);
  }

  append(stream: string, events: readonly EventData[], expected: AppendExpectedRevision): AppendResult {
    const existing = this.stream(stream);
    const current: CurrentRevision = existing.length === 0 ? NO_STREAM : BigInt(existing.length - 1);
    const retried = this.retried(stream, existing, events, expected, current);
    if (retried) return retried;
    if (!holds(expected, current)) throw new WrongExpectedVersionError(undefined, { streamName: stream, expected, current });
    let last: AllStreamRecordedEvent | undefined;
    for (const event of events) last = this.push(recordOf(event, stream, 0n, this.takePosition()));
    this.notify();
    return { success: true, nextExpectedRevision: last!.revision, position: last!.position };
  }

  /** Waits for the next append (or `record`) to the log. */
  appendedOnce(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.appended.delete(done);
        resolve();
      };
      this.appended.add(done);
    });
  }

  /** The server's idempotence: a batch already stored where `expected` puts it is not stored again. */
  private retried(
    stream: string,
    existing: AllStreamRecordedEvent[],
    events: readonly EventData[],
    expected: AppendExpectedRevision,
    current: CurrentRevision,
  ): AppendResult | undefined {
    const at = existing.findIndex((record) => record.id === events[0]?.id);
    if (at < 0) return undefined;
    const plausible =
      expected === ANY || expected === STREAM_EXISTS || (expected === NO_STREAM ? at === 0 : expected === BigInt(at) - 1n);
    if (!plausible) return undefined;
    if (!events.every((event, i) => existing[at + i]?.id === event.id)) {
      throw new WrongExpectedVersionError(undefined, { streamName: stream, expected, current });
    }
    const last = existing[at + events.length - 1]!;
    return { success: true, nextExpectedRevision: last.revision, position: last.position };
  }

  private push(record: AllStreamRecordedEvent): AllStreamRecordedEvent {
    // Revisions count the stream's records so far.
    const stored = { ...record, revision: BigInt(this.stream(record.streamId).length) } as AllStreamRecordedEvent;
    this.log.push(stored);
    return stored;
  }

  private takePosition(): Position {
    this.next += 100n;
    return { commit: this.next, prepare: this.next };
  }

  private notify(): void {
    for (const wake of [...this.appended]) wake();
    for (const subscription of this.subscriptions) subscription.wake();
  }
}

export interface FakeSettings {
  /** Send 'caughtUp' when a subscription reaches the end of the log (EventStoreDB 23.10 and later). */
  caughtUp?: boolean;
  /** Events considered between checkpoints of a filtered subscription (a real server: 32). */
  checkpointEvery?: number;
  /** Start subscriptions at `fromPosition` inclusively, as the client's readAll does. */
  inclusiveSubscribe?: boolean;
  /** The server's MaxAppendSize, in appendSize's bytes; unset: no limit. */
  maxAppendSize?: number;
}

export interface Fault {
  /** Events delivered before the error. */
  after: number;
  error: Error;
}

export interface RawRecord {
  type: string;
  data: unknown;
  metadata?: unknown;
  isJson?: boolean;
  id?: string;
}

/** The subset of EventStoreDBClient the adapter calls, over a FakeEventStoreDB. */
export class FakeEsdbClient {
  disposed = false;
  private readonly mine = new Set<FakeSubscription>();

  constructor(private readonly server: FakeEventStoreDB) {}

  async appendToStream(
    stream: string,
    events: EventData | EventData[],
    { expectedRevision = ANY }: AppendToStreamOptions = {},
  ): Promise<AppendResult> {
    this.server.calls.append++;
    this.assertOpen();
    await tick();
    const fault = this.server.faults.append.shift();
    if (fault) throw fault;
    const batch = Array.isArray(events) ? events : [events];
    const { maxAppendSize } = this.server.settings;
    if (maxAppendSize !== undefined && appendSize(batch) > maxAppendSize) {
      throw MaxAppendSizeExceededError.fromMaxAppendSize(maxAppendSize);
    }
    return this.server.append(stream, batch, expectedRevision);
  }

  readStream(stream: string, { direction, fromRevision, maxCount }: ReadStreamOptions = {}): FakeRead {
    this.server.calls.readStream++;
    this.assertOpen();
    const records = this.server.stream(stream);
    if (records.length === 0) return new FakeRead([], { after: 0, error: new StreamNotFoundError(undefined, stream) });
    const backwards = direction === BACKWARDS;
    const from = fromRevision === undefined || fromRevision === START || fromRevision === END ? undefined : fromRevision;
    const ordered = backwards ? [...records].reverse() : records;
    const selected = ordered.filter(
      (record) => from === undefined || (backwards ? record.revision <= from : record.revision >= from),
    );
    return new FakeRead(selected.slice(0, limit(maxCount)));
  }

  readAll(options: ReadAllOptions = {}): FakeRead {
    this.server.calls.readAll.push(options);
    this.assertOpen();
    const { direction, fromPosition = direction === BACKWARDS ? END : START, maxCount } = options;
    const backwards = direction === BACKWARDS;
    const from = typeof fromPosition === 'object' ? encodePosition(fromPosition) : undefined;
    const ordered = backwards ? [...this.server.log].reverse() : this.server.log;
    const selected = ordered.filter((record) => {
      if (fromPosition === END) return backwards;
      if (from === undefined) return true;
      const position = encodePosition(record.position);
      return backwards ? position <= from : position >= from;
    });
    return new FakeRead(selected.slice(0, limit(maxCount)), this.server.faults.readAll.shift());
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): FakeSubscription {
    this.server.calls.subscribe.push(options);
    this.assertOpen();
    this.server.beforeSubscribe?.(options);
    const subscription = new FakeSubscription(this.server, options, this.server.faults.subscribe.shift(), () =>
      this.mine.delete(subscription),
    );
    this.mine.add(subscription);
    this.server.opened.push(subscription);
    return subscription;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const subscription of [...this.mine]) await subscription.unsubscribe();
  }

  /** Calls are counted before this check, so a test sees a call made after dispose. */
  private assertOpen(): void {
    assert.equal(this.disposed, false, 'the adapter used the client after disposing of it');
  }
}

/** A read's result stream: records asynchronously, then the end, or an error after `fault.after` records. */
export class FakeRead extends Readable {
  cancelled = false;
  private index = 0;

  constructor(
    private readonly records: readonly AllStreamRecordedEvent[],
    private readonly fault?: Fault,
  ) {
    super({ objectMode: true });
  }

  override _read(): void {
    setImmediate(() => {
      if (this.cancelled) {
        this.push(null);
      } else if (this.fault && this.index === this.fault.after) {
        this.destroy(this.fault.error);
      } else if (this.index < this.records.length) {
        this.push({ event: this.records[this.index++] });
      } else {
        this.push(null);
      }
    });
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
  }
}

/**
 * A catch-up subscription: the log after `fromPosition` through the filter, then live appends.
 * Pushes respect back-pressure, checkpointReached is awaited as the client awaits it, and
 * 'caughtUp' and errors are emitted out of band, while earlier events may still be buffered.
 */
export class FakeSubscription extends Readable {
  /** Times the reader paused this subscription. */
  pauses = 0;
  private cursor: number;
  private stopped = false;
  private waiting: (() => void) | null = null;

  constructor(
    private readonly server: FakeEventStoreDB,
    private readonly options: SubscribeToAllOptions,
    private readonly fault: Fault | undefined,
    private readonly onStop: () => void,
  ) {
    super({ objectMode: true });
    this.cursor = this.startIndex();
    server.subscriptions.add(this);
    void this.pump();
  }

  override _read(): void {
    this.wake();
  }

  override pause(): this {
    this.pauses++;
    return super.pause();
  }

  async unsubscribe(): Promise<void> {
    this.stop();
  }

  /** Ends the subscription with `error`, as the client reports a failed call. */
  fail(error: Error): void {
    this.stop();
    this.emit('error', error);
  }

  wake(): void {
    this.waiting?.();
    this.waiting = null;
  }

  private stop(): void {
    this.stopped = true;
    this.server.subscriptions.delete(this);
    this.onStop();
    this.wake();
  }

  private startIndex(): number {
    const { fromPosition = START } = this.options;
    if (fromPosition === START) return 0;
    if (fromPosition === END) return this.server.log.length;
    const from = encodePosition(fromPosition);
    const index = this.server.log.findIndex((record) => {
      const position = encodePosition(record.position);
      return this.server.settings.inclusiveSubscribe ? position >= from : position > from;
    });
    return index < 0 ? this.server.log.length : index;
  }

  private async pump(): Promise<void> {
    let considered = 0;
    let delivered = 0;
    let caughtUp = false;
    await tick();
    if (!this.stopped) this.emit('confirmation');
    while (!this.stopped) {
      if (this.fault && delivered === this.fault.after) return this.fail(this.fault.error);
      const record = this.server.log[this.cursor];
      if (!record) {
        if (this.server.settings.caughtUp && !caughtUp) this.emit('caughtUp');
        caughtUp = true;
        await this.sleep();
        continue;
      }
      this.cursor++;
      considered++;
      if (passes(this.options.filter, record)) {
        delivered++;
        if (!this.push({ event: record })) await this.sleep();
      }
      await this.checkpoint(considered, record);
      await tick();
    }
  }

  /** As the server: every `checkpointEvery` considered events, never on the last page of the log. */
  private async checkpoint(considered: number, record: AllStreamRecordedEvent): Promise<void> {
    const every = this.server.settings.checkpointEvery ?? 32;
    const reached = this.options.filter?.checkpointReached;
    if (!reached || considered % every !== 0 || this.cursor >= this.server.log.length) return;
    await reached(this as unknown as AllStreamSubscription, record.position);
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }
}

/** What the client hands back for an event written with toEsdbEvent: JSON parsed again, plus where it sits. */
export function stored(event: NasnetEvent, stream: string, revision: bigint, position?: Position): JSONRecordedEvent {
  const written = toEsdbEvent(prepareAppend(stream, [event], 'any', createEventValidator(NASNET_CATALOGUE))[0]!);
  assert.equal(written.contentType, 'application/json');
  return recordOf(written, stream, revision, position) as JSONRecordedEvent;
}

/** A stored event as the client returns it: JSON written as text and parsed again. */
function recordOf(event: EventData, stream: string, revision: bigint, position?: Position): AllStreamRecordedEvent {
  const isJson = event.contentType === 'application/json';
  return {
    streamId: stream,
    id: event.id,
    isJson,
    revision,
    type: event.type,
    created: new Date(),
    data: isJson ? JSON.parse(JSON.stringify(event.data)) : event.data,
    metadata: event.metadata === undefined ? undefined : JSON.parse(JSON.stringify(event.metadata)),
    position,
  } as AllStreamRecordedEvent;
}

function passes(filter: Filter | undefined, record: AllStreamRecordedEvent): boolean {
  if (!filter) return true;
  assert.ok('prefixes' in filter, 'the fake models prefix filters only');
  const subject = filter.filterOn === STREAM_NAME ? record.streamId : filter.filterOn === EVENT_TYPE ? record.type : '';
  return filter.prefixes.some((prefix) => subject.startsWith(prefix));
}

function holds(expected: AppendExpectedRevision, current: CurrentRevision): boolean {
  if (expected === ANY) return true;
  if (expected === NO_STREAM) return current === NO_STREAM;
  if (expected === STREAM_EXISTS) return current !== NO_STREAM;
  return expected === current;
}

function limit(maxCount: number | bigint | undefined): number {
  return maxCount === undefined ? Number.POSITIVE_INFINITY : Number(maxCount);
}

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
