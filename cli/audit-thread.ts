import { Worker } from 'node:worker_threads';
import type { IncrementalReport } from '../core/audit/audit-store.ts';

export interface AuditRequest {
  id: number;
  experimentId: string;
}

export type AuditResponse = { id: number; report: IncrementalReport } | { id: number; error: string };

export interface ThreadAuditor {
  audit(experimentId: string): Promise<IncrementalReport>;
  close(): Promise<void>;
}

/**
 * Audits in a worker thread with its own store connection. An audit replays every policy
 * update of an experiment (seconds for a long search); on the server's event loop it would
 * stall every query and subscription while it runs.
 */
export function createThreadAuditor(storeAddress: string): ThreadAuditor {
  let worker: Worker | null = null;
  let nextId = 1;
  const pending = new Map<number, { resolve(report: IncrementalReport): void; reject(error: Error): void }>();
  const failAll = (error: Error) => {
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };
  const start = (): Worker => {
    const thread = new Worker(new URL('./audit-thread-bootstrap.mjs', import.meta.url), { workerData: { storeAddress } });
    thread.on('message', (message: AuditResponse | { ready: true }) => {
      if (!('id' in message)) return;
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (pending.size === 0) thread.unref();
      if (!waiter) return;
      if ('report' in message) waiter.resolve(message.report);
      else waiter.reject(new Error(message.error));
    });
    thread.on('error', (error) => failAll(error));
    thread.on('exit', (code) => {
      worker = null;
      failAll(new Error(`the audit thread exited (code ${code})`));
    });
    return thread;
  };
  return {
    audit(experimentId) {
      worker ??= start();
      // Held only while an audit is running: an idle audit thread must not keep a process alive.
      worker.ref();
      const id = nextId++;
      return new Promise<IncrementalReport>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker!.postMessage({ id, experimentId } satisfies AuditRequest);
      });
    },
    async close() {
      const thread = worker;
      worker = null;
      await thread?.terminate();
    },
  };
}
