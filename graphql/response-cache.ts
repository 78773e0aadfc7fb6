import type { IncomingMessage, ServerResponse } from 'node:http';
import { Kind, type DocumentNode, type ExecutionResult, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import type { Plugin, YogaInitialContext } from 'graphql-yoga';
import { READ_MODELS_PROJECTION } from '../core/projections/sqlite-projector.ts';
import type { SqliteConnection } from '../core/store/sqlite/connection.ts';

/** Root fields answered from the read models alone: their answers change only when the read-model checkpoint moves. */
const READ_MODEL_ROOT_FIELDS = new Set([
  'experiments',
  'experimentsPage',
  'compareExperiments',
  'experiment',
  'sample',
  'transfers',
  'transfer',
  '__typename',
  '__schema',
  '__type',
]);

export interface ResponseCacheOptions {
  db: SqliteConnection;
  /** Most responses kept (results, and separately serialized responses). */
  maxEntries: number;
  /** Most bytes of serialized responses kept, all together (results, and separately serialized responses). */
  maxBytes: number;
}

/** A least-recently-used map bounded by entries and by total bytes. */
class Lru<V extends { bytes: number }> {
  private readonly entries = new Map<string, V>();
  private total = 0;
  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value) {
      // Most recently used last: eviction takes from the front.
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    if (value.bytes > this.maxBytes / 8) return;
    this.delete(key);
    this.entries.set(key, value);
    this.total += value.bytes;
    for (const [oldest, old] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.total <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.total -= old.bytes;
    }
  }

  delete(key: string): void {
    const old = this.entries.get(key);
    if (!old) return;
    this.entries.delete(key);
    this.total -= old.bytes;
  }

  get size(): number {
    return this.entries.size;
  }
}

interface ResultEntry {
  checkpoint: string;
  result: ExecutionResult;
  bytes: number;
}

interface ResponseEntry {
  checkpoint: string;
  status: number;
  /** Yoga's response headers, as it sent them on the miss (plus content-length). */
  headers: Record<string, string>;
  body: Buffer;
  bytes: number;
}

/** The header saying whether a response came from the stored bytes (`hit`) or was executed (`miss`); only on requests the fast path looked up. */
export const CACHE_HEADER = 'x-nasnet-cache';

export interface ResponseCache {
  /** The yoga plugin: reuses results, and stores the bytes of cacheable responses to requests `keyFor` keyed. */
  plugin: Plugin;
  /**
   * The key of a POST body the fast path may answer: the body's bytes with the request
   * headers that can change the response (Accept, Content-Type) or the context
   * (whether an Authorization header is present).
   */
  keyFor(request: IncomingMessage, body: Buffer): string;
  /**
   * Writes the stored response for `key` when there is one and the read models' checkpoint
   * has not moved since it was made; false (nothing written) otherwise. A miss tags
   * `request` with the key, so that yoga's response to it is stored when cacheable.
   */
  answer(key: string, request: IncomingMessage, response: ServerResponse): Promise<boolean>;
  /** Counts, for tests and diagnostics. */
  readonly stats: { hits: number; misses: number; stored: number };
}

/**
 * Reuses the answers to queries while the read models have not moved. Dashboards poll the
 * same few queries from many tabs; each answer costs SQL, JSON parsing and execution, while
 * the checkpoint (one indexed row) says whether any of it could differ. Only queries whose
 * root fields all read the read models are cached (not `events`, `headPosition`, `audit`),
 * only results without errors, and only when the checkpoint was the same before and after
 * execution, so an entry never mixes two states. A rebuild (replay) passes through the same
 * checkpoints with the same rows, so an entry stays true for its checkpoint.
 *
 * Two levels: results (keyed by query, operation name and variables) inside yoga, and the
 * serialized responses (keyed by the raw POST body and the headers that matter, see
 * `keyFor`), which the node:http handler answers before yoga sees the request: a hit then
 * costs a map lookup, the checkpoint query and a write. A body is stored only from yoga's
 * own response to it, so mutations, subscriptions, errors and uncacheable fields never are.
 */
export function createResponseCache(options: ResponseCacheOptions): ResponseCache {
  const results = new Lru<ResultEntry>(options.maxEntries, options.maxBytes);
  const responses = new Lru<ResponseEntry>(options.maxEntries, options.maxBytes);
  /** Requests the fast path looked up and missed: their key. */
  const pending = new WeakMap<object, string>();
  /** Requests whose result was cacheable: the checkpoint it holds for. */
  const cacheable = new WeakMap<object, string>();
  const stats = { hits: 0, misses: 0, stored: 0 };
  // A failed read means "unknown": the query then runs uncached, and reports its own errors.
  const checkpoint = async (): Promise<string | null> => {
    try {
      const [row] = await options.db.allPrepared<{ position: string }>(
        'SELECT position FROM rm_checkpoints WHERE projection = ?',
        [READ_MODELS_PROJECTION],
      );
      return row?.position ?? '0';
    } catch {
      return null;
    }
  };

  const plugin: Plugin = {
    async onExecute({ args, setResultAndStopExecution }) {
      const context = args.contextValue as Partial<YogaInitialContext> & { req?: object };
      const params = context.params;
      if (!params?.query || !readsReadModelsOnly(args.document, args.operationName ?? undefined)) return;
      const key = JSON.stringify([params.query, params.operationName ?? null, params.variables ?? null]);
      const before = await checkpoint();
      if (before === null) return;
      const hit = results.get(key);
      if (hit && hit.checkpoint === before) {
        if (context.req) cacheable.set(context.req, before);
        setResultAndStopExecution(hit.result);
        return;
      }
      return {
        async onExecuteDone({ result }) {
          if (!isPlainResult(result) || result.errors?.length) return;
          if ((await checkpoint()) !== before) return;
          results.set(key, { checkpoint: before, result, bytes: JSON.stringify(result).length });
          if (context.req) cacheable.set(context.req, before);
        },
      };
    },
    async onResponse({ response, serverContext }) {
      const req = (serverContext as { req?: object } | undefined)?.req;
      if (!req) return;
      const key = pending.get(req);
      if (key === undefined) return;
      pending.delete(req);
      response.headers.set(CACHE_HEADER, 'miss');
      const at = cacheable.get(req);
      cacheable.delete(req);
      if (at === undefined || response.status !== 200) return;
      const type = response.headers.get('content-type') ?? '';
      if (!type.includes('json')) return;
      const body = Buffer.from(await response.clone().arrayBuffer());
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        if (name !== CACHE_HEADER && name !== 'set-cookie') headers[name] = value;
      });
      headers['content-length'] = String(body.length);
      headers[CACHE_HEADER] = 'hit';
      responses.set(key, { checkpoint: at, status: response.status, headers, body, bytes: body.length + key.length });
      stats.stored++;
    },
  };

  return {
    plugin,
    stats,
    keyFor(request, body) {
      const { accept, 'content-type': type, authorization } = request.headers;
      return `${accept ?? ''}\n${type ?? ''}\n${authorization ? 'a' : '-'}\n${body.toString('latin1')}`;
    },
    async answer(key, request, response) {
      const entry = responses.get(key);
      if (entry) {
        const now = await checkpoint();
        if (now === entry.checkpoint) {
          stats.hits++;
          response.writeHead(entry.status, entry.headers);
          response.end(entry.body);
          return true;
        }
        responses.delete(key);
      }
      stats.misses++;
      pending.set(request, key);
      return false;
    },
  };
}

function isPlainResult(result: unknown): result is ExecutionResult {
  return typeof result === 'object' && result !== null && !(Symbol.asyncIterator in result);
}

function readsReadModelsOnly(document: DocumentNode, operationName: string | undefined): boolean {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName
    ? operations.find((o) => o.name?.value === operationName)
    : operations.length === 1
      ? operations[0]
      : undefined;
  if (!operation || operation.operation !== 'query') return false;
  const fragments = new Map(
    document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [])),
  );
  const seen = new Set<string>();
  const rootFieldsAllowed = (set: SelectionSetNode): boolean =>
    set.selections.every((selection) => {
      if (selection.kind === Kind.FIELD) return READ_MODEL_ROOT_FIELDS.has(selection.name.value);
      if (selection.kind === Kind.INLINE_FRAGMENT) return rootFieldsAllowed(selection.selectionSet);
      const fragment = fragments.get(selection.name.value);
      if (!fragment) return false;
      if (seen.has(selection.name.value)) return true;
      seen.add(selection.name.value);
      return rootFieldsAllowed(fragment);
    });
  return rootFieldsAllowed(operation.selectionSet);
}
