import type { EventStore } from '../store/port.ts';
import { runController, type ControllerActivity, type ControllerOutcome } from './controller-loop.ts';
import type { TrainerPlugin } from './trainer-plugin.ts';
import { runWorker, type WorkerActivity, type WorkerOptions, type WorkerReport } from './trial-runner.ts';

export interface SearchOptions {
  store: EventStore;
  experimentId: string;
  writerId: string;
  /** The trainer for local workers; with `workers: 0` only the controller runs (workers join from elsewhere). */
  plugin: TrainerPlugin | null;
  workers: number;
  signal: AbortSignal;
  holderAlive?: WorkerOptions['holderAlive'];
  onActivity?: (activity: ControllerActivity | WorkerActivity) => void;
  tickMs?: number;
  /** See ControllerOptions.snapshotEvery. */
  snapshotEvery?: number;
}

export interface SearchOutcome extends ControllerOutcome {
  worker: WorkerReport | null;
}

/**
 * A search in one process: the controller and k local workers, both driven by the log. Stopping
 * (the signal) stops both: the workers release what they hold and the controller records
 * ExperimentStopped; when the controller completes, the workers are told to finish.
 */
export async function runSearch(options: SearchOptions): Promise<SearchOutcome> {
  const { store, experimentId, writerId, plugin, workers, signal } = options;
  const workerStop = new AbortController();
  const forward = () => workerStop.abort(signal.reason);
  signal.addEventListener('abort', forward, { once: true });
  const worker =
    plugin && workers > 0
      ? runWorker({
          store,
          plugin,
          workerId: writerId,
          concurrency: workers,
          experimentId,
          signal: workerStop.signal,
          exitWhenDone: true,
          holderAlive: options.holderAlive,
          onActivity: options.onActivity,
          tickMs: options.tickMs,
        })
      : null;
  try {
    const outcome = await runController({
      store,
      experimentId,
      writerId,
      signal,
      onActivity: options.onActivity,
      snapshotEvery: options.snapshotEvery,
    });
    workerStop.abort(new Error(`the experiment is ${outcome.status}`));
    return { ...outcome, worker: worker ? await worker : null };
  } catch (error) {
    workerStop.abort(new Error('the controller failed'));
    await worker?.catch(() => {});
    throw error;
  } finally {
    signal.removeEventListener('abort', forward);
  }
}
