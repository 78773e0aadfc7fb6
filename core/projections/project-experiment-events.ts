import type { EventOfType, RecordedEvent } from '../events/event.ts';
import type { JsonValue } from '../events/json.ts';
import { sql, type RowChange } from './row-change.ts';
import { touchExperiment } from './shared-changes.ts';

/** The types written to experiment-<experimentId> streams. */
export const EXPERIMENT_EVENT_TYPES = [
  'ExperimentCreated',
  'ControllerInitialized',
  'ArchitectureSampled',
  'PolicyUpdated',
  'ExperimentCompleted',
  'ExperimentStopped',
  'ExperimentResumed',
] as const;

export type ExperimentEvent = RecordedEvent<EventOfType<(typeof EXPERIMENT_EVENT_TYPES)[number]>>;

/** The rows an experiment-stream event changes, in the order they must be applied. */
export function projectExperimentEvent(event: ExperimentEvent): RowChange[] {
  const at = event.metadata.timestamp;
  switch (event.type) {
    case 'ExperimentCreated':
      return experimentCreated(event.data, at);
    case 'ControllerInitialized': {
      const { experimentId, strategy } = event.data;
      return [
        touchExperiment(experimentId, at, {
          status: sql("CASE WHEN status = 'created' THEN 'running' ELSE status END"),
          strategy,
          policy_version: sql('coalesce(policy_version, 0)'),
        }),
      ];
    }
    case 'ArchitectureSampled':
      return architectureSampled(event.data, at);
    case 'PolicyUpdated':
      return policyUpdated(event.data, event.position, at);
    case 'ExperimentCompleted':
      return [touchExperiment(event.data.experimentId, at, { status: 'completed' })];
    case 'ExperimentStopped':
      return [touchExperiment(event.data.experimentId, at, { status: 'stopped' })];
    case 'ExperimentResumed':
      return [touchExperiment(event.data.experimentId, at, { status: 'running' })];
  }
}

function experimentCreated({ experimentId, config, seed }: EventOfType<'ExperimentCreated'>['data'], at: string): RowChange[] {
  return [
    {
      op: 'insert',
      table: 'rm_experiments',
      row: {
        id: experimentId,
        status: 'created',
        created_at: at,
        config: JSON.stringify(config),
        seed,
        strategy: stringOrNull(config.strategy),
        trainer: stringOrNull(config.trainer),
        dataset: stringOrNull(config.dataset),
        sample_count: 0,
        completed_count: 0,
        failed_count: 0,
        best_reward: null,
        best_sample_id: null,
        policy_version: null,
        updated_at: at,
      },
    },
  ];
}

function architectureSampled(d: EventOfType<'ArchitectureSampled'>['data'], at: string): RowChange[] {
  return [
    {
      op: 'insert',
      table: 'rm_samples',
      row: {
        sample_id: d.sampleId,
        experiment_id: d.experimentId,
        idx: d.index,
        policy_version: d.policyVersion,
        cell_hash: d.cellHash,
        genotype: JSON.stringify(d.genotype),
        actions: JSON.stringify(d.actions),
        log_prob: d.logProb,
        entropy: d.entropy,
        status: 'sampled',
        reward: null,
        reward_source: null,
        reused_from: null,
        sampled_at: at,
        finished_at: null,
      },
    },
    touchExperiment(d.experimentId, at, { sample_count: sql('sample_count + 1') }),
  ];
}

function policyUpdated(d: EventOfType<'PolicyUpdated'>['data'], position: bigint, at: string): RowChange[] {
  return [
    {
      op: 'insert',
      table: 'rm_policy_updates',
      row: {
        experiment_id: d.experimentId,
        version: d.policyVersion,
        sample_ids: JSON.stringify(d.samples.map((s) => s.sampleId)),
        rewards: JSON.stringify(d.samples.map((s) => s.reward)),
        mean_reward: d.meanReward,
        baseline_before: d.baselineBefore,
        baseline_after: d.baselineAfter,
        loss: d.stats?.loss ?? null,
        approx_kl: d.stats?.approxKl ?? null,
        clip_fraction: d.stats?.clipFraction ?? null,
        entropy: d.stats?.entropy ?? null,
        epochs: d.stats?.epochs ?? null,
        params_digest_before: d.paramsDigestBefore,
        params_digest_after: d.paramsDigestAfter,
        position: position.toString(),
        at,
      },
    },
    touchExperiment(d.experimentId, at, { policy_version: sql('max(coalesce(policy_version, 0), ?)', d.policyVersion) }),
  ];
}

function stringOrNull(value: JsonValue | undefined): string | null {
  return typeof value === 'string' ? value : null;
}
