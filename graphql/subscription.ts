import type { Observable, Subscription } from 'rxjs';

export interface ToAsyncIterableOptions<T, E> {
  /** Items failing this are dropped before they count against the buffer. */
  keep?: (item: T) => boolean;
  /** Most items held for a consumer that pulls slower than the source pushes. */
  maxBuffered: number;
  /**
   * The last item when the buffer overflows, after what is buffered; `last` is the last
   * source item the consumer gets. A rejected next() would end a GraphQL subscription
   * without a word to the client; a final item can carry the reason as a GraphQL error.
   */
  overflow: (last: T | null) => E;
  /** Called once when the iteration ends, however it ends. */
  onEnd?: () => void;
}

/** An async iterator that can always be ended early. */
export type ClosableAsyncIterator<T> = AsyncIterableIterator<T> & { return(): Promise<IteratorResult<T>> };

/**
 * An Observable as a pull-based AsyncIterableIterator, for GraphQL subscriptions. The store
 * pushes without backpressure, so the buffer is bounded: a consumer that falls too far
 * behind gets an error naming where to resume instead of growing memory without end.
 */
export function toAsyncIterable<T, E>(
  source: Observable<T>,
  options: ToAsyncIterableOptions<T, E>,
): ClosableAsyncIterator<T | E> {
  const buffer: Array<T | E> = [];
  let waiting: { resolve: (result: IteratorResult<T | E>) => void; reject: (error: unknown) => void } | null = null;
  let ended = false;
  let failure: { error: unknown } | null = null;
  // Only source items are ever delivered before the overflow item, which ends the iteration.
  let lastDelivered: T | null = null;
  let subscription: Subscription | null = null;

  const end = (error?: { error: unknown }): void => {
    if (ended) return;
    ended = true;
    if (error) failure = error;
    subscription?.unsubscribe();
    options.onEnd?.();
    if (waiting && buffer.length === 0) {
      const pending = waiting;
      waiting = null;
      if (failure) {
        pending.reject(failure.error);
        failure = null;
      } else {
        pending.resolve({ value: undefined, done: true });
      }
    }
  };

  subscription = source.subscribe({
    next: (item) => {
      if (ended || (options.keep && !options.keep(item))) return;
      if (waiting) {
        const pending = waiting;
        waiting = null;
        lastDelivered = item;
        pending.resolve({ value: item, done: false });
        return;
      }
      if (buffer.length >= options.maxBuffered) {
        // What is buffered is still delivered; the client resumes after the last of it.
        const last = (buffer[buffer.length - 1] as T | undefined) ?? lastDelivered;
        buffer.push(options.overflow(last));
        end();
        return;
      }
      buffer.push(item);
    },
    error: (error: unknown) => end({ error }),
    complete: () => end(),
  });
  // The source may have ended synchronously, before `subscription` was assigned.
  if (ended) subscription.unsubscribe();

  const iterator: ClosableAsyncIterator<T | E> = {
    next() {
      if (buffer.length > 0) {
        const item = buffer.shift()!;
        lastDelivered = item as T;
        return Promise.resolve({ value: item, done: false });
      }
      if (ended) {
        if (failure) {
          const { error } = failure;
          // Report the failure once; after it the iteration is done.
          failure = null;
          return Promise.reject(error);
        }
        return Promise.resolve({ value: undefined, done: true });
      }
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
      });
    },
    return() {
      buffer.length = 0;
      failure = null;
      end();
      if (waiting) {
        const pending = waiting;
        waiting = null;
        pending.resolve({ value: undefined, done: true });
      }
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
