import { runController, type ControllerOutcome } from '../core/runtime/controller-loop.ts';
import type { EventStore } from '../core/store/port.ts';

/**
 * The controllers this server runs for `createExperiment` and `resumeExperiment`: the
 * controller only, like `nasnet search --workers 0`; trainings come from `nasnet worker`
 * processes on any machine that reaches the store. A controller started elsewhere for the
 * same experiment is not seen here, but the log keeps them apart: each append expects the
 * stream's revision, so one of the two fails on its next append.
 */
export interface ControllerHost {
  /** Whether this server runs the experiment's controller now. */
  running(experimentId: string): boolean;
  /** Starts the experiment's controller in the background; false when this server already runs it. */
  start(experimentId: string): boolean;
  /** Stops every controller (each records ExperimentStopped, as Ctrl-C does) and waits for them. */
  close(): Promise<void>;
}

export interface ControllerHostOptions {
  store: EventStore;
  writerId: string;
  /** What a controller that ends says (completed, stopped, or why it failed). */
  log: (message: string) => void;
}

export function createControllerHost(options: ControllerHostOptions): ControllerHost {
  const controllers = new Map<string, { stop: AbortController; done: Promise<void> }>();
  const report = (experimentId: string, outcome: ControllerOutcome) =>
    options.log(`controller of ${experimentId}: ${outcome.status} at policy version ${outcome.policyVersion}`);
  return {
    running: (experimentId) => controllers.has(experimentId),
    start(experimentId) {
      if (controllers.has(experimentId)) return false;
      const stop = new AbortController();
      const done = runController({ store: options.store, experimentId, writerId: options.writerId, signal: stop.signal })
        .then((outcome) => report(experimentId, outcome))
        .catch((error: unknown) => options.log(`controller of ${experimentId} failed: ${(error as Error).message}`))
        .finally(() => controllers.delete(experimentId));
      controllers.set(experimentId, { stop, done });
      return true;
    },
    async close() {
      const running = [...controllers.values()];
      for (const { stop } of running) stop.abort(new Error('the server is closing'));
      await Promise.all(running.map(({ done }) => done));
    },
  };
}
