import { GraphQLError } from 'graphql';
import type { IncrementalReport } from '../core/audit/audit-store.ts';
import { experimentStream } from '../core/events/streams.ts';
import type { EventStore } from '../core/store/port.ts';

/**
 * Audits replay the controller (CPU-bound): one at a time, and a report is reused while
 * the log's head has not moved. Where the replay runs is the caller's choice (auditExperiment).
 */
export function auditRunner(
  store: EventStore,
  auditExperiment: (experimentId: string) => Promise<IncrementalReport>,
): (experimentId: string) => Promise<IncrementalReport> {
  const reports = new Map<string, { head: bigint; report: IncrementalReport }>();
  let queue: Promise<unknown> = Promise.resolve();
  return (experimentId) => {
    const run = queue.then(async () => {
      const head = await store.headPosition();
      const cached = reports.get(experimentId);
      if (cached && cached.head === head) return cached.report;
      const { exists } = await store.readStream(experimentStream(experimentId), { direction: 'backwards', maxCount: 1 });
      if (!exists)
        throw new GraphQLError(`no experiment ${JSON.stringify(experimentId)} in this store`, {
          extensions: { code: 'NOT_FOUND' },
        });
      const report = await auditExperiment(experimentId);
      reports.delete(experimentId);
      reports.set(experimentId, { head, report });
      if (reports.size > 16) reports.delete(reports.keys().next().value!);
      return report;
    });
    queue = run.catch(() => undefined);
    return run;
  };
}
