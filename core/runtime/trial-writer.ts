import type { NasnetEvent } from '../events/event.ts';
import { trialStream } from '../events/streams.ts';
import { WrongExpectedVersionError } from '../store/errors.ts';
import type { EventStore } from '../store/port.ts';

/**
 * The writes of one claimed attempt, one after another, each expecting the revision the last
 * left: a conflict means the claim was taken over, so the attempt is aborted and nothing more
 * is written. Progress arrives through a synchronous callback, hence the chain.
 */
export class TrialWriter {
  private writes: Promise<void> = Promise.resolve();
  private claimLost = false;
  private lastWriteAt: number;

  constructor(
    private readonly store: EventStore,
    private readonly sampleId: string,
    private revision: bigint,
    private readonly abort: AbortController,
    private readonly now: () => number,
  ) {
    this.lastWriteAt = now();
  }

  /** Whether another worker took the claim over. */
  get lost(): boolean {
    return this.claimLost;
  }

  /** When the last write landed: the heartbeat writes when it is a third of the lease ago. */
  get lastWrite(): number {
    return this.lastWriteAt;
  }

  /** Queues events; the promise (and every later one) rejects on a store failure other than a lost claim. */
  write(events: NasnetEvent[]): Promise<void> {
    this.writes = this.writes.then(() => this.append(events));
    return this.writes;
  }

  /** Waits for every queued write. */
  settled(): Promise<void> {
    return this.writes;
  }

  private async append(events: NasnetEvent[]): Promise<void> {
    if (this.claimLost) return;
    try {
      this.revision = (await this.store.append(trialStream(this.sampleId), events, this.revision)).nextRevision;
      this.lastWriteAt = this.now();
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      this.claimLost = true;
      this.abort.abort(new Error(`the claim on ${this.sampleId} was taken over`));
    }
  }
}
