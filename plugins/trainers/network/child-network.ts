import type { TrainingJob } from '../../../core/runtime/trainer-plugin.ts';
import type { NetworkOptions } from './nasnet-plan.ts';
import type { Shape } from './plan.ts';

/**
 * The child network a search job asks for, on a dataset of `imageShape` and `classes`: one
 * rule for every trainer, so a cell gets the same network whichever framework trains it.
 * Small images keep their size through the stem; ImageNet-size ones are reduced by it.
 */
export function childNetworkOptions(
  job: Pick<TrainingJob, 'genotype' | 'network'>,
  data: { imageShape: readonly [number, number, number]; classes: number },
  settings: { dropPath: number; auxHead: boolean },
): NetworkOptions {
  const large = data.imageShape[0] > 64;
  return {
    genotype: job.genotype,
    N: job.network.N,
    filters: job.network.filters,
    imageShape: [...data.imageShape] as Shape,
    classes: data.classes,
    stem: large ? 'imagenet' : 'small',
    stemFilters: large ? 32 : 3 * job.network.filters,
    dropPath: settings.dropPath > 0,
    auxHead: settings.auxHead,
  };
}
