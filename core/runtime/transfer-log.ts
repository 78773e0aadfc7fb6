import { hostname } from 'node:os';
import type { EventData } from '../events/catalogue.ts';
import type { NasnetEvent } from '../events/event.ts';
import { eventMetadata } from '../events/metadata.ts';
import { transferEvent, type TransferEventType } from '../events/transfer-events.ts';
import type { EventStore } from '../store/port.ts';

/**
 * Appends one transfer's events in order, each expecting the revision the previous one left,
 * so a second writer on the same transfer id fails instead of interleaving. Progress arrives
 * through a synchronous callback, hence the chain.
 */
export class TransferLog {
  private revision: bigint | 'no_stream' = 'no_stream';
  private chain: Promise<void> = Promise.resolve();
  private requestedId: string | null = null;
  private failure: unknown = null;
  private readonly writerId = `nasnet-train@${hostname()}:${process.pid}`;

  constructor(
    private readonly store: EventStore,
    private readonly transferId: string,
    private readonly stream: string,
  ) {}

  /** Queues an event; ids are derived from the transfer (and the epoch), so a retried append is stored once. */
  append<T extends TransferEventType>(type: T, data: EventData<T>, ...idParts: number[]): Promise<void> {
    const metadata = eventMetadata(this.transferId, this.writerId, this.requestedId);
    const event: NasnetEvent = transferEvent(this.transferId, type, data, metadata, ...idParts);
    // Everything after the request was caused by it.
    if (type === 'TransferRequested') this.requestedId = event.id;
    const appended = this.chain.then(async () => {
      const { nextRevision } = await this.store.append(this.stream, [event], this.revision);
      this.revision = nextRevision;
    });
    this.chain = appended.catch((error: unknown) => {
      this.failure ??= error;
    });
    return appended;
  }

  /** Waits for every queued append and throws the first failure among them. */
  async flush(): Promise<void> {
    await this.chain;
    if (this.failure !== null) throw this.failure;
  }
}
