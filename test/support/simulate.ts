import { architectureSampled, controllerInitialized, policyUpdated } from '../../core/events/experiment-events.ts';
import { createStrategy } from '../../core/controller/create-strategy.ts';
import type { ControllerConfig } from '../../core/controller/config.ts';
import type { NasnetEvent, RecordedEvent } from '../../core/events/event.ts';
import { deterministicEventId } from '../../core/events/ids.ts';
import { eventMetadata } from '../../core/events/metadata.ts';
import { experimentStream, sampleId, trialStream } from '../../core/events/streams.ts';
import type { Genotype } from '../../core/search-space/genotype.ts';

/**
 * The controller's side of a search, without trainers: an experiment whose rewards come
 * from `reward`, as the events the runtime would append, in log order with positions.
 */
export function simulateExperiment(options: {
  experimentId: string;
  strategy: string;
  seed: number;
  batches: number;
  reward: (genotype: Genotype) => number;
  controller?: Partial<ControllerConfig>;
}): RecordedEvent[] {
  const { experimentId, seed, batches, reward } = options;
  const meta = eventMetadata(experimentId, 'simulator');
  const strategy = createStrategy(options.strategy, seed, options.controller);
  const batchSize = options.controller?.batchSize ?? 20;
  const log: Array<{ stream: string; event: NasnetEvent }> = [];
  const experiment = experimentStream(experimentId);
  log.push({
    stream: experiment,
    event: {
      id: deterministicEventId(experimentId, 'ExperimentCreated'),
      type: 'ExperimentCreated',
      version: 1,
      data: {
        experimentId,
        config: { strategy: options.strategy, controller: options.controller ?? {} },
        seed,
        codeVersion: 'test',
      },
      metadata: meta,
    },
  });
  log.push({ stream: experiment, event: controllerInitialized(experimentId, strategy, meta) });
  for (let batch = 0; batch < batches; batch++) {
    const drawn = strategy.sampleBatch(Array.from({ length: batchSize }, (_, i) => batch * batchSize + i));
    for (const sample of drawn) log.push({ stream: experiment, event: architectureSampled(experimentId, sample, meta) });
    const scored = drawn.map((sample) => ({ sample, reward: reward(sample.genotype) }));
    for (const { sample, reward: value } of scored) {
      const id = sampleId(experimentId, sample.index);
      log.push({
        stream: trialStream(id),
        event: {
          id: deterministicEventId(id, 'RewardReported'),
          type: 'RewardReported',
          version: 1,
          data: { experimentId, sampleId: id, reward: value, source: 'trained', reusedFromSampleId: null },
          metadata: meta,
        },
      });
    }
    const update = strategy.update(scored);
    const named = scored.map(({ sample, reward: value }) => ({ sampleId: sampleId(experimentId, sample.index), reward: value }));
    log.push({ stream: experiment, event: policyUpdated(experimentId, update, named, meta) });
  }
  const revisions = new Map<string, bigint>();
  return log.map(({ stream, event }, i) => {
    const revision = revisions.get(stream) ?? 0n;
    revisions.set(stream, revision + 1n);
    return { ...event, stream, revision, position: BigInt(i + 1) } as RecordedEvent;
  });
}
