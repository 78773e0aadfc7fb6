import { InvalidArgumentError, type Command } from 'commander';
import type { RecordedEvent } from '../../core/events/event.ts';
import type { EventFilter } from '../../core/store/port.ts';
import { storeOption, withStore } from '../store-access.ts';

interface EventsOptions {
  store: string;
  stream?: string;
  after?: bigint;
  type?: string[];
  prefix?: string[];
  limit?: number;
  follow: boolean;
}

function position(value: string): bigint {
  if (!/^\d+$/.test(value))
    throw new InvalidArgumentError(`--after must be a global position (a whole number), got ${JSON.stringify(value)}`);
  return BigInt(value);
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new InvalidArgumentError(`--limit must be a whole number, got ${JSON.stringify(value)}`);
  return n;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** One JSON object per line; bigints (positions, revisions) as strings. */
function toLine(event: RecordedEvent): string {
  return JSON.stringify({ ...event, position: event.position.toString(), revision: event.revision.toString() });
}

/** `nasnet events`: the raw event log, for people (with jq) and for scripts. */
export function registerEventsCommand(program: Command): void {
  program
    .command('events')
    .description('print events from the store as JSON lines (the whole log, one stream, or live with --follow)')
    .addOption(storeOption())
    .option('--stream <name>', 'only this stream, in revision order (e.g. experiment-exp1)')
    .option('--after <position>', 'only events after this global position (default: from the start)', position)
    .option('--type <type>', 'only events of this type (repeatable)', collect)
    .option('--prefix <prefix>', 'only streams starting with this (repeatable)', collect)
    .option('--limit <n>', 'at most n events', count)
    .option('--follow', 'keep printing new events as they are appended (Ctrl-C to stop)', false)
    .action((options: EventsOptions) =>
      withStore(options.store, async (store) => {
        const filter: EventFilter = { types: options.type, streamPrefixes: options.prefix };
        if (options.stream) {
          const { events } = await store.readStream(options.stream, { maxCount: options.limit });
          for (const event of events) {
            if (event.position > (options.after ?? 0n) && (!options.type || options.type.includes(event.type))) {
              process.stdout.write(`${toLine(event)}\n`);
            }
          }
          return;
        }
        if (!options.follow) {
          for await (const event of store.readAll({ fromPosition: options.after, filter, maxCount: options.limit })) {
            process.stdout.write(`${toLine(event)}\n`);
          }
          return;
        }
        await new Promise<void>((resolve, reject) => {
          let printed = 0;
          const subscription = store.subscribe({ fromPosition: options.after, filter }).subscribe({
            next: (event) => {
              process.stdout.write(`${toLine(event)}\n`);
              if (options.limit !== undefined && ++printed >= options.limit) {
                subscription.unsubscribe();
                resolve();
              }
            },
            error: reject,
            complete: resolve,
          });
          const stop = () => {
            subscription.unsubscribe();
            resolve();
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      }),
    );
}
