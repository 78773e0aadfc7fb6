import type { TrainerContext, TrainingJob, TrainingResult } from '../../../core/runtime/trainer-plugin.ts';
import { cachedDatasetLoader } from '../../datasets/resolve.ts';
import { childNetworkOptions } from '../network/child-network.ts';
import type { TfRuntime } from './tf-runtime.ts';
import { trainNetwork } from './train-network.ts';
import { jobSettings } from '../training-settings.ts';

/**
 * One training job on a loaded tfjs runtime: what both the in-process trainer and each pool
 * worker run. Datasets are cached per process: a worker trains many children on the same data.
 */
export class JobRunner {
  private readonly dataset = cachedDatasetLoader();

  constructor(
    readonly runtime: TfRuntime,
    private readonly defaults: Record<string, unknown> = {},
  ) {}

  async run(job: TrainingJob, context: TrainerContext): Promise<TrainingResult> {
    const settings = jobSettings(this.defaults, job);
    const dataset = this.dataset(job.dataset);
    const { imageShape: _shape, classes: _classes, ...network } = childNetworkOptions(job, dataset, settings);
    return trainNetwork(this.runtime, dataset, network, settings, { signal: context.signal, progress: context.progress });
  }
}
