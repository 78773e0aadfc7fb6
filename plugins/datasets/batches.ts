/**
 * Mini-batches as plain typed arrays (NHWC floats, int32 labels): the trainer turns them
 * into tensors, so this layer does not depend on tfjs and runs anywhere.
 */
import { DatasetError, imageSize, type Split } from './dataset.ts';
import { applyTransform, checkAugmentOptions, drawTransform, type AugmentOptions } from './augment.ts';
import { pixelTable, toFloat, type ChannelStats } from './normalise.ts';
import { datasetRng, shuffleInPlace } from './rng.ts';

export interface BatchOptions {
  readonly batchSize: number;
  /** Visit the examples in a random order (a new one per seed and epoch); default false: in order. */
  readonly shuffle?: boolean;
  /** Required when shuffling or augmenting, so a run can be repeated exactly. */
  readonly seed?: number;
  /** Mixed with the seed, so each epoch gets its own order and augmentations from one run seed. Default 0. */
  readonly epoch?: number;
  /** Crop/flip each example (see defaultAugmentation); default false. Use it on training batches only. */
  readonly augment?: AugmentOptions | false;
  /** Standardise with these training-split statistics (channelStats); default false: pixels / 255. */
  readonly normalise?: ChannelStats | false;
  /** Skip a last batch smaller than batchSize; default false, so every example is seen once per epoch. */
  readonly dropLast?: boolean;
}

export interface Batch {
  /** size × h × w × c floats, NHWC. */
  readonly x: Float32Array;
  /** size class indices. */
  readonly y: Int32Array;
  readonly size: number;
}

/** One epoch of `split` in batches of `batchSize` (the last one smaller unless dropLast). */
export function* batches(split: Split, options: BatchOptions): Generator<Batch, void, undefined> {
  const { batchSize, shuffle = false, epoch = 0, augment = false, normalise = false, dropLast = false } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new DatasetError(`batches: batchSize must be an integer >= 1 (got ${batchSize})`);
  if ((shuffle || augment) && options.seed === undefined) {
    throw new DatasetError('batches: a seed is required when shuffling or augmenting, so the run can be repeated');
  }
  if (augment) checkAugmentOptions(augment, split.imageShape);
  const seed = options.seed ?? 0;
  const channels = split.imageShape[2];
  const size = imageSize(split.imageShape);
  const table = pixelTable(channels, normalise);

  const order = new Uint32Array(split.count).map((_, i) => i);
  if (shuffle) shuffleInPlace(order, datasetRng('shuffle', seed, epoch));
  // Its own stream, so turning augmentation on or off leaves the order of the examples as it was.
  const augmentRng = augment ? datasetRng('augment', seed, epoch) : undefined;
  const scratch = new Uint8Array(size);

  const end = dropLast ? split.count - (split.count % batchSize) : split.count;
  for (let start = 0; start < end; start += batchSize) {
    const n = Math.min(batchSize, end - start);
    const x = new Float32Array(n * size);
    const y = new Int32Array(n);
    for (let b = 0; b < n; b++) {
      const i = order[start + b]!;
      y[b] = split.labels[i]!;
      let pixels = split.images.subarray(i * size, (i + 1) * size);
      if (augment && augmentRng) {
        applyTransform(split.images, i * size, split.imageShape, augment.padding, drawTransform(augmentRng, augment), scratch, 0);
        pixels = scratch;
      }
      toFloat(pixels, channels, table, x, b * size);
    }
    yield { x, y, size: n };
  }
}
