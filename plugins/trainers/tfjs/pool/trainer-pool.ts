import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  TrainingFailure,
  type TrainerContext,
  type TrainerPlugin,
  type TrainingJob,
  type TrainingResult,
} from '../../../../core/runtime/trainer-plugin.ts';
import type { BackendChoice } from '../tf-runtime.ts';
import type { FromWorker, ToWorker } from './messages.ts';

const BOOTSTRAP = new URL('./worker-bootstrap.mjs', import.meta.url);

interface Pending {
  job: TrainingJob;
  context: TrainerContext;
  resolve(result: TrainingResult): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  ready: Promise<{ backend: string; device: string }>;
  busy: { id: number; pending: Pending; onAbort: () => void } | null;
}

export interface TrainerPoolOptions {
  /** Parallel trainings; default: the number of cores. */
  workers?: number;
  backend?: BackendChoice;
  /** Training settings every job starts from (a job's own settings override them). */
  defaults?: Record<string, unknown>;
}

/**
 * Trains k children at once, each in a worker thread with its own tfjs instance: WASM and
 * the pure-JS backend compute on one thread, so parallel trainings are how a machine's
 * cores get used. A worker that dies fails its job as retryable and is replaced.
 */
export class TrainerPool implements TrainerPlugin {
  readonly name = 'tfjs';
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: TrainerPoolOptions = {}) {
    const count = options.workers ?? cpus().length;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`workers must be a whole number >= 1 (got ${count})`);
    for (let i = 0; i < count; i++) this.slots.push(this.spawn());
  }

  /** The backend and device the workers run on (after they started). */
  async describe(): Promise<{ backend: string; device: string; workers: number }> {
    const first = await this.slots[0]!.ready;
    return { ...first, workers: this.slots.length };
  }

  train(job: TrainingJob, context: TrainerContext): Promise<TrainingResult> {
    if (this.closed) return Promise.reject(new TrainingFailure('the trainer pool is closed', true));
    return new Promise((resolve, reject) => {
      this.queue.push({ job, context, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0))
      pending.reject(new TrainingFailure('the trainer pool closed before this job started', true));
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private spawn(): Slot {
    const worker = new Worker(BOOTSTRAP);
    let markReady!: (info: { backend: string; device: string }) => void;
    let failReady!: (error: Error) => void;
    const slot: Slot = {
      worker,
      ready: new Promise((resolve, reject) => {
        markReady = resolve;
        failReady = reject;
      }),
      busy: null,
    };
    slot.ready.catch(() => undefined);
    worker.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'ready':
          markReady({ backend: message.backend, device: message.device });
          this.dispatch();
          return;
        case 'init-failed':
          failReady(new TrainingFailure(`a trainer worker could not start: ${message.message}`, false));
          this.failQueued(message.message);
          return;
        case 'progress':
          if (slot.busy?.id === message.id) slot.busy.pending.context.progress(message.progress);
          return;
        case 'done':
        case 'failed': {
          const busy = slot.busy;
          if (!busy || busy.id !== message.id) return;
          slot.busy = null;
          busy.pending.context.signal.removeEventListener('abort', busy.onAbort);
          if (message.type === 'done') busy.pending.resolve(message.result);
          else {
            const failure = new TrainingFailure(message.message, message.retryable);
            if (message.name === 'AbortError') failure.name = 'AbortError';
            busy.pending.reject(failure);
          }
          this.dispatch();
        }
      }
    });
    worker.on('error', (error) => this.onWorkerDeath(slot, error.message));
    worker.on('exit', (code) => {
      if (!this.closed) this.onWorkerDeath(slot, `the worker exited with code ${code}`);
    });
    const init: ToWorker = { type: 'init', backend: this.options.backend ?? null, defaults: this.options.defaults ?? {} };
    worker.postMessage(init);
    return slot;
  }

  private onWorkerDeath(slot: Slot, reason: string): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    const busy = slot.busy;
    slot.busy = null;
    busy?.pending.reject(new TrainingFailure(`the training worker died: ${reason}`, true));
    if (this.closed) return;
    this.slots[index] = this.spawn();
  }

  private failQueued(reason: string): void {
    for (const pending of this.queue.splice(0))
      pending.reject(new TrainingFailure(`no trainer worker could start: ${reason}`, false));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy || this.queue.length === 0) continue;
      void slot.ready.then(
        () => this.assign(slot),
        () => undefined,
      );
    }
  }

  private assign(slot: Slot): void {
    if (slot.busy || this.closed) return;
    const pending = this.queue.shift();
    if (!pending) return;
    const id = this.nextId++;
    if (pending.context.signal.aborted) {
      const failure = new TrainingFailure('training was aborted before it started', true);
      failure.name = 'AbortError';
      pending.reject(failure);
      this.dispatch();
      return;
    }
    const onAbort = () => slot.worker.postMessage({ type: 'abort', id } satisfies ToWorker);
    pending.context.signal.addEventListener('abort', onAbort, { once: true });
    slot.busy = { id, pending, onAbort };
    slot.worker.postMessage({ type: 'train', id, job: pending.job } satisfies ToWorker);
  }
}
