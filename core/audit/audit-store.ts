import type { RecordedEvent } from '../events/event.ts';
import { experimentStream, TRIAL_STREAM_PREFIX } from '../events/streams.ts';
import type { EventStore, ReadAllOptions } from '../store/port.ts';
import { Auditor, auditExperiment, type AuditReport } from './audit.ts';

const AUDITED = ['ExperimentCreated', 'ControllerInitialized', 'ArchitectureSampled', 'RewardReported', 'PolicyUpdated'];

/** One experiment's controller-relevant events, in log order, after `fromPosition`. */
async function* auditedEvents(store: EventStore, experimentId: string, fromPosition?: bigint): AsyncIterable<RecordedEvent> {
  const filter = { streamPrefixes: [experimentStream(experimentId), `${TRIAL_STREAM_PREFIX}${experimentId}-`], types: AUDITED };
  const options: ReadAllOptions = fromPosition === undefined ? { filter } : { filter, fromPosition };
  for await (const event of store.readAll(options)) {
    // The trial prefix also matches experiments whose id extends this one (`exp` and `exp-2`).
    if ('experimentId' in event.data && event.data.experimentId === experimentId) yield event;
  }
}

/** Reads one experiment's controller-relevant events from a store, in log order, and audits them. Throws when there are none. */
export async function auditStoredExperiment(store: EventStore, experimentId: string): Promise<AuditReport> {
  const events: RecordedEvent[] = [];
  for await (const event of auditedEvents(store, experimentId)) events.push(event);
  if (events.length === 0) throw new Error(`the store holds no events of experiment ${JSON.stringify(experimentId)}`);
  return auditExperiment(events);
}

const KEPT_AUDITORS = 8;

export interface IncrementalReport extends AuditReport {
  /** Where this audit began: "0" for a full audit, else the position an earlier audit had verified. */
  from: string;
}

export interface IncrementalAuditor {
  audit(experimentId: string): Promise<IncrementalReport>;
}

/**
 * Audits that go on from where the last one stopped (README, "The audit"): the auditor of
 * each experiment is kept with the last event it read, and the next audit feeds it only the
 * events after that. Before going on it checks that the log still holds that very event at
 * its stream revision and global position; if not (the store was restored, replaced or
 * rewritten under it) it audits from the start again. What it cannot see is an event below
 * that point rewritten in place with the same id: only a full audit (`nasnet audit`) reads
 * every event again.
 */
export function createIncrementalAuditor(store: EventStore): IncrementalAuditor {
  const auditors = new Map<string, Auditor>();
  const full = async (experimentId: string): Promise<IncrementalReport> => {
    const auditor = new Auditor();
    for await (const event of auditedEvents(store, experimentId)) auditor.feed(event);
    if (!auditor.lastEvent) throw new Error(`the store holds no events of experiment ${JSON.stringify(experimentId)}`);
    auditors.delete(experimentId);
    auditors.set(experimentId, auditor);
    // Each keeps its experiment's samples: a server auditing many experiments keeps the latest few.
    if (auditors.size > KEPT_AUDITORS) auditors.delete(auditors.keys().next().value!);
    return { ...auditor.report(), from: '0' };
  };
  return {
    async audit(experimentId) {
      const auditor = auditors.get(experimentId);
      const last = auditor?.lastEvent;
      if (!auditor || !last || !(await stillThere(store, last))) return full(experimentId);
      for await (const event of auditedEvents(store, experimentId, last.position)) auditor.feed(event);
      return { ...auditor.report(), from: last.position.toString() };
    },
  };
}

async function stillThere(store: EventStore, event: RecordedEvent): Promise<boolean> {
  const { events } = await store.readStream(event.stream, { fromRevision: event.revision, maxCount: 1 });
  const found = events[0];
  return found !== undefined && found.id === event.id && found.position === event.position;
}
