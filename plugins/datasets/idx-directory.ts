import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetError, type Dataset } from './dataset.ts';
import { readIdxSplit } from './idx.ts';

type Part = 'train-images' | 'train-labels' | 'test-images' | 'test-labels';

/** The official names (the test split is `t10k`), as Debian and the Fashion-MNIST repository ship them. */
export const IDX_FILE_NAMES: Readonly<Record<Part, string>> = {
  'train-images': 'train-images-idx3-ubyte',
  'train-labels': 'train-labels-idx1-ubyte',
  'test-images': 't10k-images-idx3-ubyte',
  'test-labels': 't10k-labels-idx1-ubyte',
};

/**
 * Names a file may have in a directory: gzip or not, and MNIST's mirrors' `train-images.idx3-ubyte`
 * spelling. The first that exists is read (gzip is detected from the content, not the name).
 */
function candidates(part: Part): string[] {
  const name = IDX_FILE_NAMES[part];
  const dotted = name.replace(/-(idx\d-ubyte)$/, '.$1');
  return [`${name}.gz`, name, `${dotted}.gz`, dotted];
}

function find(dir: string, part: Part): string | undefined {
  return candidates(part)
    .map((c) => join(dir, c))
    .find((p) => existsSync(p));
}

/** Whether `dir` holds any of the four IDX files (then it is meant as an IDX dataset, complete or not). */
export function hasIdxFiles(dir: string): boolean {
  return (Object.keys(IDX_FILE_NAMES) as Part[]).some((part) => find(dir, part) !== undefined);
}

/** Reads the four IDX files of `dir` (train and t10k images and labels). */
export function loadIdxDirectory(dir: string, meta: { name: string; classNames: readonly string[] }): Dataset {
  const parts = Object.keys(IDX_FILE_NAMES) as Part[];
  const paths = parts.map((part) => find(dir, part));
  const missing = parts.filter((_, i) => paths[i] === undefined);
  if (missing.length) {
    throw new DatasetError(
      `${dir}: incomplete IDX dataset: missing ${missing.map((p) => `${IDX_FILE_NAMES[p]}[.gz]`).join(', ')}` +
        ' (an IDX dataset needs train and t10k images and labels)',
    );
  }
  const [trainImages, trainLabels, testImages, testLabels] = paths as [string, string, string, string];
  const classes = meta.classNames.length;
  const train = readIdxSplit(trainImages, trainLabels, classes);
  const test = readIdxSplit(testImages, testLabels, classes);
  const [h, w] = train.imageShape;
  if (test.imageShape[0] !== h || test.imageShape[1] !== w) {
    throw new DatasetError(
      `${trainImages} holds ${h}×${w} images but ${testImages} holds ${test.imageShape[0]}×${test.imageShape[1]}: ` +
        'train and test images must have the same size',
    );
  }
  const files = { format: 'idx' as const, trainImages, trainLabels, testImages, testLabels };
  return { name: meta.name, imageShape: train.imageShape, classes, classNames: meta.classNames, train, test, source: dir, files };
}
