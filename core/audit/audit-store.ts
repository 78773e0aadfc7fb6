import type { RecordedEvent } from '../events/event.ts';
import { experimentStream, TRIAL_STREAM_PREFIX } from '../events/streams.ts';
import type { EventStore } from '../store/port.ts';
import { auditExperiment, type AuditReport } from './audit.ts';

const AUDITED = ['ExperimentCreated', 'ControllerInitialized', 'ArchitectureSampled', 'RewardReported', 'PolicyUpdated'];

/** Reads one experiment's controller-relevant events from a store, in log order, and audits them. Throws when there are none. */
export async function auditStoredExperiment(store: EventStore, experimentId: string): Promise<AuditReport> {
  const events: RecordedEvent[] = [];
  const filter = { streamPrefixes: [experimentStream(experimentId), `${TRIAL_STREAM_PREFIX}${experimentId}-`], types: AUDITED };
  for await (const event of store.readAll({ filter })) {
    // The trial prefix also matches experiments whose id extends this one (`exp` and `exp-2`).
    if ('experimentId' in event.data && event.data.experimentId === experimentId) events.push(event);
  }
  if (events.length === 0) throw new Error(`the store holds no events of experiment ${JSON.stringify(experimentId)}`);
  return auditExperiment(events);
}
