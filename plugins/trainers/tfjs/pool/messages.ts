import type { TrainingJob, TrainingProgress, TrainingResult } from '../../../../core/runtime/trainer-plugin.ts';
import type { BackendChoice } from '../tf-runtime.ts';

/** What the pool tells a worker. */
export type ToWorker =
  | { type: 'init'; backend: BackendChoice | null; defaults: Record<string, unknown> }
  | { type: 'train'; id: number; job: TrainingJob }
  | { type: 'abort'; id: number };

/** What a worker tells the pool. */
export type FromWorker =
  | { type: 'ready'; backend: string; device: string }
  | { type: 'init-failed'; message: string }
  | { type: 'progress'; id: number; progress: TrainingProgress }
  | { type: 'done'; id: number; result: TrainingResult }
  | { type: 'failed'; id: number; name: string; message: string; retryable: boolean };
