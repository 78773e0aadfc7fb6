import type { TrainerContext, TrainingJob, TrainingResult } from '../../../core/runtime/trainer-plugin.ts';
import type { Dataset } from '../../datasets/dataset.ts';
import { loadDataset } from '../../datasets/resolve.ts';
import { childNetworkOptions } from '../network/child-network.ts';
import type { TfRuntime } from './tf-runtime.ts';
import { trainNetwork } from './train-network.ts';
import { trainSettings } from '../training-settings.ts';

/**
 * One training job on a loaded tfjs runtime: what both the in-process trainer and each pool
 * worker run. Datasets are cached per process: a worker trains many children on the same data.
 */
export class JobRunner {
  private readonly datasets = new Map<string, Dataset>();

  constructor(
    readonly runtime: TfRuntime,
    private readonly defaults: Record<string, unknown> = {},
  ) {}

  async run(job: TrainingJob, context: TrainerContext): Promise<TrainingResult> {
    const settings = trainSettings(this.defaults, { epochs: job.epochs, seed: job.seed, dataSeed: job.dataSeed }, job.settings);
    let dataset = this.datasets.get(job.dataset);
    if (!dataset) this.datasets.set(job.dataset, (dataset = loadDataset(job.dataset)));
    const { imageShape: _shape, classes: _classes, ...network } = childNetworkOptions(job, dataset, settings);
    return trainNetwork(
      this.runtime,
      dataset,
      network,
      settings,
      { signal: context.signal, progress: context.progress },
    );
  }
}
