import { parentPort, workerData } from 'node:worker_threads';
import { createIncrementalAuditor } from '../core/audit/audit-store.ts';
import { openStore } from '../core/store/open-store.ts';
import type { AuditRequest, AuditResponse } from './audit-thread.ts';

// One store connection for the thread's life; audits arrive one at a time from the server, and
// each goes on from where the last audit of its experiment stopped.
const store = await openStore((workerData as { storeAddress: string }).storeAddress);
const auditor = createIncrementalAuditor(store);
parentPort!.on('message', (request: AuditRequest) => {
  auditor.audit(request.experimentId).then(
    (report) => parentPort!.postMessage({ id: request.id, report } satisfies AuditResponse),
    (error: unknown) =>
      parentPort!.postMessage({
        id: request.id,
        error: error instanceof Error ? error.message : String(error),
      } satisfies AuditResponse),
  );
});
parentPort!.postMessage({ ready: true });
