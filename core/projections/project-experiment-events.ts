import type { EventOfType, RecordedEvent } from '../events/event.ts';
import type { JsonValue } from '../events/json.ts';
import type { ReadModelView, RowPut } from './read-model-view.ts';
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

/** The rows an experiment-stream event writes. */
export function projectExperimentEvent(view: ReadModelView, event: ExperimentEvent): RowPut[] {
  const at = event.metadata.timestamp;
  switch (event.type) {
    case 'ExperimentCreated':
      return experimentCreated(view, event.data, at);
    case 'ControllerInitialized': {
      const { experimentId, strategy } = event.data;
      return touchExperiment(view, experimentId, at, (e) => ({
        status: e.status === 'created' ? 'running' : e.status,
        strategy,
        policy_version: e.policy_version ?? 0,
      }));
    }
    case 'ArchitectureSampled':
      return architectureSampled(view, event.data, at);
    case 'PolicyUpdated':
      return policyUpdated(view, event.data, event.position, at);
    case 'ExperimentCompleted':
      return touchExperiment(view, event.data.experimentId, at, () => ({ status: 'completed' }));
    case 'ExperimentStopped':
      return touchExperiment(view, event.data.experimentId, at, () => ({ status: 'stopped' }));
    case 'ExperimentResumed':
      return touchExperiment(view, event.data.experimentId, at, () => ({ status: 'running' }));
  }
}

/** A second ExperimentCreated of the same id (a retried append) leaves the first one's row. */
function experimentCreated(
  view: ReadModelView,
  { experimentId, config, seed }: EventOfType<'ExperimentCreated'>['data'],
  at: string,
): RowPut[] {
  if (view.experiment(experimentId)) return [];
  const row = {
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
  } as const;
  return [{ table: 'rm_experiments', row }];
}

function architectureSampled(view: ReadModelView, d: EventOfType<'ArchitectureSampled'>['data'], at: string): RowPut[] {
  const puts: RowPut[] = [];
  if (!view.sample(d.sampleId)) {
    const row = {
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
    } as const;
    puts.push({ table: 'rm_samples', row });
  }
  puts.push(...touchExperiment(view, d.experimentId, at, (e) => ({ sample_count: e.sample_count + 1 })));
  return puts;
}

function policyUpdated(view: ReadModelView, d: EventOfType<'PolicyUpdated'>['data'], position: bigint, at: string): RowPut[] {
  const puts: RowPut[] = [];
  if (!view.policyUpdate(d.experimentId, d.policyVersion)) {
    const row = {
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
    };
    puts.push({ table: 'rm_policy_updates', row });
  }
  puts.push(
    ...touchExperiment(view, d.experimentId, at, (e) => ({
      policy_version: Math.max(e.policy_version ?? 0, d.policyVersion),
    })),
  );
  return puts;
}

function stringOrNull(value: JsonValue | undefined): string | null {
  return typeof value === 'string' ? value : null;
}
