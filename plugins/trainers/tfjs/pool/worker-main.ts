import { parentPort } from 'node:worker_threads';
import { TrainingFailure } from '../../../../core/runtime/trainer-plugin.ts';
import { JobRunner } from '../run-job.ts';
import { loadTf } from '../tf-runtime.ts';
import type { FromWorker, ToWorker } from './messages.ts';

/** A pool worker: its own tfjs instance (and WASM memory), one training at a time. */
const port = parentPort!;
const send = (message: FromWorker) => port.postMessage(message);
let runner: JobRunner | null = null;
const running = new Map<number, AbortController>();

port.on('message', (message: ToWorker) => {
  void handle(message);
});

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'init':
      try {
        const runtime = await loadTf(message.backend ?? undefined);
        runner = new JobRunner(runtime, message.defaults);
        send({ type: 'ready', backend: runtime.backend, device: runtime.device });
      } catch (error) {
        send({ type: 'init-failed', message: (error as Error).message });
      }
      return;
    case 'abort':
      running.get(message.id)?.abort();
      return;
    case 'train': {
      const controller = new AbortController();
      running.set(message.id, controller);
      try {
        const result = await runner!.run(message.job, {
          signal: controller.signal,
          progress: (progress) => send({ type: 'progress', id: message.id, progress }),
        });
        send({ type: 'done', id: message.id, result });
      } catch (error) {
        const failure = error instanceof TrainingFailure ? error : null;
        send({
          type: 'failed',
          id: message.id,
          name: (error as Error).name,
          message: (error as Error).message,
          // errors we did not anticipate (a bug, an out-of-memory) may not recur on a fresh attempt
          retryable: failure ? failure.retryable : true,
        });
      } finally {
        running.delete(message.id);
      }
    }
  }
}
