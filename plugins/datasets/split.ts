/**
 * The held-out validation split. The search's reward is accuracy on examples taken out of the
 * training set, never the test set: a controller rewarded on test accuracy would select
 * architectures for the test set, and the final test number would no longer be an honest one.
 */
import { classCounts, DatasetError, selectExamples, type Split } from './dataset.ts';
import { datasetRng } from './rng.ts';
import { allocateProportionally, stratifiedPick } from './stratify.ts';

export type ValidationOptions =
  | { fraction: number; count?: undefined; seed: number }
  | { count: number; fraction?: undefined; seed: number };

/**
 * Takes a validation split out of `train`, stratified (each class keeps its share of the
 * examples in both halves) and determined by `seed`. Both halves keep the source's order.
 */
export function splitValidation(train: Split, options: ValidationOptions): { train: Split; validation: Split } {
  const { train: rest, validation } = splitIndices(train, options);
  return { train: selectExamples(train, rest), validation: selectExamples(train, validation) };
}

/** splitValidation as indices into `train`, for a trainer that reads the examples itself. */
export function splitIndices(train: Split, options: ValidationOptions): { train: Uint32Array; validation: Uint32Array } {
  const n = train.count;
  if (n < 2) throw new DatasetError(`splitValidation: a training set of ${n} example(s) cannot be split`);
  let size: number;
  if (options.fraction !== undefined) {
    if (options.count !== undefined) throw new DatasetError('splitValidation: give fraction or count, not both');
    if (!(options.fraction > 0 && options.fraction < 1)) {
      throw new DatasetError(`splitValidation: fraction must be between 0 and 1, exclusive (got ${options.fraction})`);
    }
    size = Math.min(n - 1, Math.max(1, Math.round(n * options.fraction)));
  } else {
    size = options.count;
    if (!Number.isInteger(size) || size < 1 || size > n - 1) {
      throw new DatasetError(
        `splitValidation: count must be an integer from 1 to ${n - 1} (the training set has ${n} examples; got ${size})`,
      );
    }
  }
  const classes = train.labels.reduce((max, label) => Math.max(max, label), 0) + 1;
  const take = allocateProportionally(classCounts(train.labels, classes), size);
  const { picked, rest } = stratifiedPick(train.labels, take, datasetRng('validation-split', options.seed));
  return { train: rest, validation: picked };
}
