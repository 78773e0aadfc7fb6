/**
 * The in-memory dataset every trainer reads. Pixels stay uint8 in HWC order (one byte per
 * value, a quarter of float32): full CIFAR-10 is 150 MB this way instead of 600 MB, and the
 * conversion to floats happens one batch at a time (batches.ts).
 */

/** [height, width, channels]. */
export type ImageShape = readonly [h: number, w: number, c: number];

/** Examples of one split: `count` images of `imageShape`, HWC, row-major, one after the other. */
export interface Split {
  readonly images: Uint8Array;
  /** One class index per image, each below the dataset's `classes`. */
  readonly labels: Uint8Array;
  readonly count: number;
  /**
   * Carried by the split (not only the dataset) so that a split handed on alone, e.g. the
   * validation half of splitValidation, can still be cropped and flipped without a shape
   * passed next to it that could disagree.
   */
  readonly imageShape: ImageShape;
}

export interface Dataset {
  /** `fashion-mnist`, `fashion-mnist-mini`, `cifar10`, or the directory name for a path. */
  readonly name: string;
  readonly imageShape: ImageShape;
  readonly classes: number;
  readonly classNames: readonly string[];
  readonly train: Split;
  /** Only for a final report: the search's reward is validation accuracy (splitValidation). */
  readonly test: Split;
  /** The directory the files were read from, so a run can record where its data came from. */
  readonly source: string;
  /** The files themselves, for a trainer in another process that reads them on its own. */
  readonly files: DatasetFiles;
}

export type DatasetFiles =
  | {
      readonly format: 'idx';
      readonly trainImages: string;
      readonly trainLabels: string;
      readonly testImages: string;
      readonly testLabels: string;
    }
  | { readonly format: 'cifar10'; readonly train: readonly string[]; readonly test: string };

/**
 * Anything wrong with dataset files or dataset arguments. The message names the file (or
 * argument) and what is wrong with it, so the user can fix it without reading the code.
 */
export class DatasetError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatasetError';
  }
}

/** Values in one image. */
export function imageSize(shape: ImageShape): number {
  return shape[0] * shape[1] * shape[2];
}

export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export const MNIST_CLASS_NAMES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export const CIFAR10_CLASS_NAMES: readonly string[] = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

/** Number of examples of each class; `classes` long. */
export function classCounts(labels: Uint8Array, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const label of labels) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

/** A new split holding the given examples of `split`, in the order given. */
export function selectExamples(split: Split, indices: ArrayLike<number>): Split {
  const size = imageSize(split.imageShape);
  const images = new Uint8Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i]!;
    images.set(split.images.subarray(from * size, (from + 1) * size), i * size);
    labels[i] = split.labels[from]!;
  }
  return { images, labels, count: indices.length, imageShape: split.imageShape };
}
