import { Observable } from 'rxjs';
import type { RecordedEvent } from '../events/event.ts';
import { START, matchesFilter, type SubscribeOptions } from './port.ts';

/** A stored row as far as following the log needs it. */
export interface LogRow {
  position: bigint | number | string;
  stream: string;
  type: string;
}

/** What an adapter gives `followLog`: pages of the log in position order, and wake-ups. */
export interface LogSource<Row extends LogRow> {
  /** Up to `pageSize` rows strictly after `after`, in position order. */
  readPage(after: bigint): Promise<Row[]>;
  pageSize: number;
  /** The head as it moves (an append here, a notification, a poll); completes when the store closes. */
  heads$: Observable<bigint>;
  toRecorded(row: Row): RecordedEvent;
}

/**
 * The port's `subscribe` for an adapter whose positions follow commit order: the backlog after
 * `fromPosition`, then every page the head moves past, filtered here, with no gap and no duplicate.
 */
export function followLog<Row extends LogRow>(source: LogSource<Row>, options: SubscribeOptions): Observable<RecordedEvent> {
  return new Observable<RecordedEvent>((subscriber) => {
    let after = options.fromPosition ?? START;
    let draining = false;
    let again = false;
    // Reads pages until caught up; a wake-up that arrives mid-drain runs one more pass,
    // so nothing appended meanwhile is left waiting for the next wake-up.
    const drain = async (): Promise<void> => {
      if (draining) {
        again = true;
        return;
      }
      draining = true;
      try {
        do {
          again = false;
          for (;;) {
            const rows = await source.readPage(after);
            for (const row of rows) {
              if (subscriber.closed) return;
              after = BigInt(row.position);
              if (matchesFilter(options.filter, row.stream, row.type)) subscriber.next(source.toRecorded(row));
            }
            if (rows.length < source.pageSize) break;
          }
        } while (again && !subscriber.closed);
      } catch (error) {
        subscriber.error(error);
      } finally {
        draining = false;
      }
    };
    const live = source.heads$.subscribe({
      next: (head) => {
        if (head > after) void drain();
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => subscriber.complete(),
    });
    void drain();
    return () => live.unsubscribe();
  });
}
