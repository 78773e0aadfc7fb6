import type { Genotype } from '../../../core/search-space/genotype.ts';
import { filtersForPenultimate, type NetworkOptions } from './nasnet-plan.ts';
import type { Shape } from './plan.ts';

/** What a dataset implies for the network: input shape, classes, stem. */
export const DATASET_NETWORKS = {
  imagenet: { imageShape: [224, 224, 3] as Shape, classes: 1000, stem: 'imagenet' as const },
  cifar10: { imageShape: [32, 32, 3] as Shape, classes: 10, stem: 'small' as const },
  'fashion-mnist': { imageShape: [28, 28, 1] as Shape, classes: 10, stem: 'small' as const },
};
export type DatasetNetwork = keyof typeof DATASET_NETWORKS;

export interface SizeChoice {
  genotype: Genotype;
  dataset: DatasetNetwork;
  N: number;
  /** The paper's F: filters in the penultimate layer. Give this or `filters`. */
  F?: number;
  /** Filters of the first stack's cells. */
  filters?: number;
  imageSize?: number;
  classes?: number;
  /** Default: 32 for the ImageNet stem (NASNet-A mobile), 3 × filters for the small stem (the paper's CIFAR model: 96 at 32). */
  stemFilters?: number;
  skipReductionInput?: boolean;
  auxHead?: boolean;
  dropPath?: boolean;
}

/** Network options from the sizes a person names ("NASNet-A (6 @ 768) on CIFAR-10"). */
export function networkOptions(choice: SizeChoice): NetworkOptions {
  const preset = DATASET_NETWORKS[choice.dataset];
  if (!preset)
    throw new RangeError(
      `dataset must be one of ${Object.keys(DATASET_NETWORKS).join(', ')} (got ${JSON.stringify(choice.dataset)})`,
    );
  if ((choice.F === undefined) === (choice.filters === undefined)) {
    throw new RangeError(
      'give the size as F (penultimate filters, the paper\'s "N @ F") or as filters (first-stack filters), not both or neither',
    );
  }
  const filters = choice.filters ?? filtersForPenultimate(choice.genotype, choice.F!);
  const [h, w, c] = preset.imageShape;
  const imageShape: Shape = choice.imageSize ? [choice.imageSize, choice.imageSize, c] : [h, w, c];
  return {
    genotype: choice.genotype,
    N: choice.N,
    filters,
    imageShape,
    classes: choice.classes ?? preset.classes,
    stem: preset.stem,
    stemFilters: choice.stemFilters ?? (preset.stem === 'imagenet' ? 32 : 3 * filters),
    skipReductionInput: choice.skipReductionInput ?? false,
    auxHead: choice.auxHead ?? false,
    dropPath: choice.dropPath ?? false,
  };
}
