import type { EventMetadata, EventOfType } from '../events/event.ts';
import { experimentStopped } from '../events/experiment-events.ts';
import type { ExperimentState, ExperimentStatus } from './experiment-state.ts';

/** A request to stop an experiment: why, and who writes the stop. */
export interface StopCommand {
  reason: string;
  metadata: EventMetadata;
}

export type StopDecision =
  /** Append `event` expecting `expectedRevision`, the revision the decision was made on. */
  | { kind: 'stop'; event: EventOfType<'ExperimentStopped'>; expectedRevision: bigint }
  | { kind: 'not-found' }
  | { kind: 'not-running'; status: ExperimentStatus };

/**
 * Whether an experiment can be stopped, as a pure function of its folded stream (undefined
 * when there is none): only a running one can. The stop is identified by the revision it
 * follows, so a retried request appends nothing twice, and the append must expect that
 * revision: whoever wrote in between makes it conflict, and the caller decides again.
 */
export function decideStop(state: ExperimentState | undefined, command: StopCommand): StopDecision {
  if (!state) return { kind: 'not-found' };
  if (state.status !== 'running') return { kind: 'not-running', status: state.status };
  const { experimentId, revision } = state;
  const data = { experimentId, reason: command.reason, samples: state.samples.size };
  return { kind: 'stop', event: experimentStopped(data, revision, command.metadata), expectedRevision: revision };
}
