/**
 * Iterates `source` one item ahead of the consumer: the next item is asked for before this
 * one is handed out, so when it needs a new page from the database, the query runs on the
 * thread pool while the consumer works instead of after it.
 */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let next = iterator.next();
  try {
    for (;;) {
      const result = await next;
      if (result.done) return;
      next = iterator.next();
      yield result.value;
    }
  } finally {
    // Stopped early: let the item asked for arrive (a failure there is no longer anyone's), then close the source.
    await next.catch(() => undefined);
    await iterator.return?.();
  }
}
