/**
 * The two processes bench/graphql.ts starts besides itself, so that the load it measures
 * is not generated on the event loop that serves it:
 *
 *   node --import tsx bench/graphql-children.ts server   --store sqlite:<path> [--no-response-cache]
 *   node --import tsx bench/graphql-children.ts appender --store sqlite:<path>
 *
 * `server` serves GraphQL on 127.0.0.1 (a free port) and sends `{port}` over IPC.
 * `appender` waits for `{experimentId, appends, spacingMs}`, writes a small experiment
 * through its own store connection — "appended by another process" — and reports, per
 * measured append, the wall-clock time the append returned.
 */
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createStrategy } from '../core/controller/create-strategy.ts';
import { architectureSampled, controllerInitialized } from '../core/events/experiment-events.ts';
import type { NasnetEvent } from '../core/events/event.ts';
import { deterministicEventId } from '../core/events/ids.ts';
import { eventMetadata } from '../core/events/metadata.ts';
import { experimentStream, sampleId, trialStream } from '../core/events/streams.ts';
import { openReadModels } from '../core/projections/sqlite-projector.ts';
import { parseStoreAddress } from '../core/store/address.ts';
import { openStore } from '../core/store/open-store.ts';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable between processes on one machine. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface AppendRequest {
  experimentId: string;
  appends: number;
  spacingMs: number;
}

export interface ServerUsage {
  kind: 'usage';
  cpuMs: number;
  elu: { idle: number; active: number; utilization: number };
}

export type ServerRequest = { kind: 'usage' } | { kind: 'profile-start' } | { kind: 'profile-stop'; file: string };

export type AppenderMessage =
  | { kind: 'ready' }
  | { kind: 'appended'; epoch: number; position: string; at: number }
  | { kind: 'done' }
  | { kind: 'error'; message: string };

async function server(address: string, responseCache: boolean): Promise<void> {
  const { createGraphqlServer } = await import('../graphql/server.ts');
  const parsed = parseStoreAddress(address);
  if (parsed.kind !== 'sqlite') throw new Error('the bench serves a sqlite: store');
  const store = await openStore(address);
  const readModels = await openReadModels(parsed.path);
  const graphql = createGraphqlServer({ store, readModels, responseCache });
  const http = createServer((req, res) => void graphql.handle(req, res));
  // Clients reuse their connections; keep them open between a client's requests.
  http.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const stop = async (): Promise<void> => {
    http.closeAllConnections();
    http.close();
    await graphql.close();
    await readModels.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('disconnect', () => void stop());
  // The bench asks for these around each measured window: CPU per request (this process,
  // SQLite's threads included) and how busy the event loop was say where the time went.
  // With --cpu-prof the bench profiles each measured window alone, without startup and warm-up.
  let profiler: Session | null = null;
  process.on('message', (message: ServerRequest) => {
    if (message.kind === 'usage') {
      const cpu = process.cpuUsage();
      process.send!({
        kind: 'usage',
        cpuMs: (cpu.user + cpu.system) / 1000,
        elu: performance.eventLoopUtilization(),
      } satisfies ServerUsage);
    } else if (message.kind === 'profile-start') {
      profiler = new Session();
      profiler.connect();
      void profiler
        .post('Profiler.enable')
        .then(() => profiler!.post('Profiler.start'))
        .then(() => process.send!({ kind: 'profiling' }));
    } else if (message.kind === 'profile-stop' && profiler) {
      const session = profiler;
      profiler = null;
      void session
        .post('Profiler.stop')
        .then(({ profile }) => writeFile(message.file, JSON.stringify(profile)))
        .then(() => {
          session.disconnect();
          process.send!({ kind: 'profiled', file: message.file });
        });
    }
  });
  process.send!({ port: (http.address() as AddressInfo).port });
}

async function appender(address: string): Promise<void> {
  const store = await openStore(address);
  const send = (message: AppenderMessage) => process.send!(message);
  process.on('disconnect', () => void store.close().then(() => process.exit(0)));
  process.on('message', (request: AppendRequest) => {
    run(request).then(
      () => send({ kind: 'done' }),
      (error: unknown) => send({ kind: 'error', message: error instanceof Error ? error.message : String(error) }),
    );
  });
  send({ kind: 'ready' });

  async function run({ experimentId, appends, spacingMs }: AppendRequest): Promise<void> {
    // A small random-search experiment whose one trial reports an epoch per append, as a
    // worker's progress does: the events a dashboard watches arrive.
    const writer = `bench-appender/${process.pid}`;
    const meta = () => eventMetadata(experimentId, writer);
    const strategy = createStrategy('random', 1, { batchSize: 1 });
    const stream = experimentStream(experimentId);
    await store.append(
      stream,
      [
        {
          id: deterministicEventId(experimentId, 'ExperimentCreated'),
          type: 'ExperimentCreated',
          version: 1,
          data: {
            experimentId,
            config: {
              strategy: 'random',
              controller: { batchSize: 1 },
              samples: 1,
              trainer: 'bench',
              dataset: 'none',
              epochs: appends,
            },
            seed: 1,
            codeVersion: 'bench',
          },
          metadata: meta(),
        },
        controllerInitialized(experimentId, strategy, meta()),
        architectureSampled(experimentId, strategy.sample(0), meta()),
      ],
      'no_stream',
    );
    const sid = sampleId(experimentId, 0);
    const trial = trialStream(sid);
    const claimed = await store.append(
      trial,
      [
        {
          id: deterministicEventId(sid, 'TrialClaimed', 1, writer),
          type: 'TrialClaimed',
          version: 1,
          data: {
            experimentId,
            sampleId: sid,
            workerId: writer,
            plugin: 'bench',
            backend: 'none',
            leaseDeadline: new Date(Date.now() + 900_000).toISOString(),
            attempt: 1,
          },
          metadata: meta(),
        },
      ],
      'no_stream',
    );
    let revision = claimed.nextRevision;
    for (let epoch = 1; epoch <= appends; epoch++) {
      await new Promise((resolve) => setTimeout(resolve, spacingMs));
      const event: NasnetEvent = {
        id: deterministicEventId(sid, 'TrainingProgressed', 1, epoch),
        type: 'TrainingProgressed',
        version: 1,
        data: { experimentId, sampleId: sid, attempt: 1, epoch, epochs: appends, metrics: { loss: 1 / epoch } },
        metadata: meta(),
      };
      const result = await store.append(trial, [event], revision);
      const at = wallClockMs();
      revision = result.nextRevision;
      send({ kind: 'appended', epoch, position: result.positions[0]!.toString(), at });
    }
    // Leaves the bench's experiment stopped, as `nasnet search` does on Ctrl-C, not looking like a search in flight.
    await store.append(
      trial,
      [
        {
          id: deterministicEventId(sid, 'TrialReleased', 1, writer),
          type: 'TrialReleased',
          version: 1,
          data: { experimentId, sampleId: sid, workerId: writer, attempt: 1, reason: 'graphql bench finished' },
          metadata: meta(),
        },
      ],
      revision,
    );
    await store.append(
      stream,
      [
        {
          id: deterministicEventId(experimentId, 'ExperimentStopped', 3),
          type: 'ExperimentStopped',
          version: 1,
          data: { experimentId, reason: 'graphql bench finished', samples: 1 },
          metadata: meta(),
        },
      ],
      2n,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const role = process.argv[2];
  const { values } = parseArgs({
    args: process.argv.slice(3),
    options: { store: { type: 'string' }, 'no-response-cache': { type: 'boolean', default: false } },
  });
  const address = values.store;
  const main =
    role === 'server'
      ? () => server(address!, !values['no-response-cache'])
      : role === 'appender'
        ? () => appender(address!)
        : null;
  if (!main || !address)
    throw new Error('usage: graphql-children.ts server [--no-response-cache] | appender --store sqlite:<path>');
  main().catch((error: unknown) => {
    process.stderr.write(
      `graphql-children ${role}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
