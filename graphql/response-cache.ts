import { Kind, type DocumentNode, type ExecutionResult, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import type { Plugin, YogaInitialContext } from 'graphql-yoga';
import { READ_MODELS_PROJECTION } from '../core/projections/sqlite-projector.ts';
import type { SqliteConnection } from '../core/store/sqlite/connection.ts';

/** Root fields answered from the read models alone: their answers change only when the read-model checkpoint moves. */
const READ_MODEL_ROOT_FIELDS = new Set(['experiments', 'experiment', 'sample', 'transfers', 'transfer', '__typename', '__schema', '__type']);

export interface ResponseCacheOptions {
  db: SqliteConnection;
  /** Most responses kept. */
  maxEntries: number;
  /** Most bytes of serialized responses kept, all together. */
  maxBytes: number;
}

interface Entry {
  checkpoint: string;
  result: ExecutionResult;
  bytes: number;
}

/**
 * Reuses the result of a query while the read models have not moved. Dashboards poll the
 * same few queries from many tabs; each answer costs SQL, JSON parsing and execution, while
 * the checkpoint (one indexed row) says whether any of it could differ. Only queries whose
 * root fields all read the read models are cached (not `events`, `headPosition`, `audit`),
 * only results without errors, and only when the checkpoint was the same before and after
 * execution, so an entry never mixes two states. A rebuild (replay) passes through the same
 * checkpoints with the same rows, so an entry stays true for its checkpoint.
 */
export function responseCache(options: ResponseCacheOptions): Plugin {
  const entries = new Map<string, Entry>();
  let bytes = 0;
  // A failed read means "unknown": the query then runs uncached, and reports its own errors.
  const checkpoint = async (): Promise<string | null> => {
    try {
      const [row] = await options.db.allPrepared<{ position: string }>('SELECT position FROM rm_checkpoints WHERE projection = ?', [READ_MODELS_PROJECTION]);
      return row?.position ?? '0';
    } catch {
      return null;
    }
  };
  const remember = (key: string, entry: Entry): void => {
    const old = entries.get(key);
    if (old) {
      bytes -= old.bytes;
      entries.delete(key);
    }
    entries.set(key, entry);
    bytes += entry.bytes;
    for (const [oldest, value] of entries) {
      if (entries.size <= options.maxEntries && bytes <= options.maxBytes) break;
      entries.delete(oldest);
      bytes -= value.bytes;
    }
  };

  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const params = (args.contextValue as Partial<YogaInitialContext>).params;
      if (!params?.query || !readsReadModelsOnly(args.document, args.operationName ?? undefined)) return;
      const key = JSON.stringify([params.query, params.operationName ?? null, params.variables ?? null]);
      const before = await checkpoint();
      if (before === null) return;
      const hit = entries.get(key);
      if (hit && hit.checkpoint === before) {
        // Most recently used last: eviction takes from the front.
        entries.delete(key);
        entries.set(key, hit);
        setResultAndStopExecution(hit.result);
        return;
      }
      return {
        async onExecuteDone({ result }) {
          if (!isPlainResult(result) || result.errors?.length) return;
          if ((await checkpoint()) !== before) return;
          const size = JSON.stringify(result).length;
          if (size <= options.maxBytes / 8) remember(key, { checkpoint: before, result, bytes: size });
        },
      };
    },
  };
}

function isPlainResult(result: unknown): result is ExecutionResult {
  return typeof result === 'object' && result !== null && !(Symbol.asyncIterator in result);
}

function readsReadModelsOnly(document: DocumentNode, operationName: string | undefined): boolean {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  if (!operation || operation.operation !== 'query') return false;
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [])));
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
