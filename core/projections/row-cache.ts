import type { SqliteConnection } from '../store/sqlite/connection.ts';
import type { RecordedEvent } from '../events/event.ts';
import { absentEntry, foldEvents, isAbsent, type Entry, type FoldResult, type RowWrite } from './batch-fold.ts';
import { loadLookups } from './row-loader.ts';
import { writeScript } from './row-writes.ts';

/** Entries kept between batches: a sample's events span a few batches, so most lookups hit. */
const DEFAULT_CAPACITY = 100_000;

/** Keys remembered as dropped (~70 bytes each) before the cache stops answering absent rows itself. */
const MAX_EVICTED_KEYS = 4_000_000;

/** Events folded before their misses are loaded: a fold that must be run again costs at most this many. */
const FOLD_CHUNK = 250;

/**
 * The rows as the batches compiled so far leave them, for one projector run: the fold of the
 * next batch reads here first and the database only for what it misses. Entries written by
 * a batch not yet committed are never dropped (the database does not have them yet); older
 * ones go, least recently used first, once the cache is full.
 *
 * Rows in the read models are a function of the log prefix they reflect, so rows cached as of
 * position P are what the database holds whenever its checkpoint is P, whoever projected it.
 */
export class RowCache {
  private readonly entries = new Map<string, { entry: Entry; batch: number; used: number }>();
  private batch = 0;
  private committed = 0;
  /**
   * While set, every row in the database went through this cache (it was empty when they
   * started), so a key never cached is a row that does not exist, known without a query; the
   * keys dropped from the cache are kept to be read again. Unset by clear() and past
   * MAX_EVICTED_KEYS.
   */
  private evicted: Set<string> | null = null;

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  /** The read models are empty: answer what was never cached as absent from now on. */
  startedEmpty(): void {
    this.evicted = new Set();
  }

  get(key: string): Entry | undefined {
    const found = this.entries.get(key);
    if (!found) return this.evicted && !this.evicted.has(key) ? absentEntry(key) : undefined;
    found.used = this.batch;
    return found.entry;
  }

  /**
   * Folds the events over the cache, loading what it misses from `db`, and returns the script
   * that writes the rows they change; the cache then holds the rows as after them. Returns
   * the batch's number, for committedUpTo().
   *
   * The batch is folded a chunk at a time, each chunk over what the chunks before it wrote.
   * A fold reads a missed row as absent, so when the database has none of them either (new
   * samples, trials, epochs and cells: most misses while catching up) the chunk's fold
   * stands; otherwise (an earlier sample's cell, say) that chunk alone is folded again.
   */
  async compile(db: SqliteConnection, events: readonly RecordedEvent[]): Promise<{ script: string; batch: number }> {
    const batch = ++this.batch;
    const entries = new Map<string, Entry>();
    const writes = new Map<string, RowWrite>();
    for (let i = 0; i < events.length; i += FOLD_CHUNK) {
      const result = await this.foldChunk(db, events.slice(i, i + FOLD_CHUNK), entries, batch);
      for (const [key, entry] of result.entries) entries.set(key, entry);
      // The row it replaces is the one before the batch, whichever chunk wrote it first.
      for (const [id, write] of result.writes)
        writes.set(id, writes.has(id) ? { put: write.put, before: writes.get(id)!.before } : write);
    }
    for (const [key, entry] of entries) this.set(key, entry, batch);
    this.evict();
    return { script: writeScript(writes.values()), batch };
  }

  private async foldChunk(
    db: SqliteConnection,
    events: readonly RecordedEvent[],
    written: ReadonlyMap<string, Entry>,
    batch: number,
  ): Promise<FoldResult> {
    for (;;) {
      const result = foldEvents(events, (key) => written.get(key) ?? this.get(key));
      let stands = true;
      if (result.misses.size > 0) {
        // The fold read them as absent: it stands if the database has none of them either.
        for (const [key, entry] of await loadLookups(db, [...result.misses.values()])) {
          this.set(key, entry, batch);
          if (!isAbsent(entry)) stands = false;
        }
      }
      if (stands) return result;
    }
  }

  /** Batches up to this number are in the database: their entries may go. */
  committedUpTo(batch: number): void {
    this.committed = Math.max(this.committed, batch);
    this.evict();
  }

  clear(): void {
    this.entries.clear();
    this.evicted = null;
  }

  private set(key: string, entry: Entry, batch: number): void {
    this.entries.delete(key);
    this.entries.set(key, { entry, batch, used: batch });
  }

  /**
   * Oldest first, with a second chance for what the last batches read (an experiment's best
   * cell is read by every batch and written by few): those go to the back instead.
   */
  private evict(): void {
    if (this.entries.size <= this.capacity) return;
    const kept: Array<[string, { entry: Entry; batch: number; used: number }]> = [];
    for (const [key, value] of this.entries) {
      if (this.entries.size + kept.length <= this.capacity * 0.8) break;
      if (value.batch > this.committed) continue;
      this.entries.delete(key);
      if (value.used >= this.batch - 1) kept.push([key, value]);
      else this.evicted?.add(key);
    }
    for (const [key, value] of kept) this.entries.set(key, value);
    if (this.evicted && this.evicted.size > MAX_EVICTED_KEYS) this.evicted = null;
  }
}
