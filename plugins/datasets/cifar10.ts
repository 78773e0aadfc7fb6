/**
 * CIFAR-10, binary version (https://www.cs.toronto.edu/~kriz/cifar.html): each batch file is
 * a run of 3073-byte records, one label byte and then the 32×32 image as three planes (all
 * red, all green, all blue), row-major. Planes become HWC here, the layout of the rest of
 * this layer and of tfjs's conv2d.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR10_CLASS_NAMES, DatasetError, type Dataset, type Split } from './dataset.ts';
import { readDatasetFile } from './read-file.ts';

export const CIFAR10_TRAIN_FILES = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
];
export const CIFAR10_TEST_FILE = 'test_batch.bin';
const SIDE = 32;
const PLANE = SIDE * SIDE;
const PIXELS = 3 * PLANE;
export const CIFAR10_RECORD_BYTES = 1 + PIXELS;

/** One batch file as a split, pixels turned from planes into HWC. */
export function readCifarBatch(path: string): Split {
  const { bytes } = readDatasetFile(path);
  const count = Math.floor(bytes.length / CIFAR10_RECORD_BYTES);
  const extra = bytes.length % CIFAR10_RECORD_BYTES;
  if (count === 0 || extra !== 0) {
    throw new DatasetError(
      `${path}: ${bytes.length} bytes is not a whole number of CIFAR-10 records ` +
        `(${CIFAR10_RECORD_BYTES} bytes each: 1 label byte + 32×32×3 pixel bytes; ` +
        `${count === 0 ? 'not even one record' : `${count} records and ${extra} bytes left over`}); ` +
        'the download is probably incomplete or this is not the binary version of CIFAR-10',
    );
  }
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const record = n * CIFAR10_RECORD_BYTES;
    const label = bytes[record]!;
    if (label >= CIFAR10_CLASS_NAMES.length) {
      throw new DatasetError(`${path}: record ${n} has label ${label}; CIFAR-10 labels are 0-9 (is this CIFAR-100?)`);
    }
    labels[n] = label;
    const src = record + 1;
    const dst = n * PIXELS;
    for (let p = 0; p < PLANE; p++) {
      images[dst + 3 * p] = bytes[src + p]!;
      images[dst + 3 * p + 1] = bytes[src + PLANE + p]!;
      images[dst + 3 * p + 2] = bytes[src + 2 * PLANE + p]!;
    }
  }
  return { images, labels, count, imageShape: [SIDE, SIDE, 3] };
}

function concatSplits(splits: Split[]): Split {
  const count = splits.reduce((sum, s) => sum + s.count, 0);
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const s of splits) {
    images.set(s.images, at * PIXELS);
    labels.set(s.labels, at);
    at += s.count;
  }
  return { images, labels, count, imageShape: [SIDE, SIDE, 3] };
}

/** Whether `dir` holds any CIFAR-10 batch file (then it is meant as CIFAR-10, complete or not). */
export function hasCifarFiles(dir: string): boolean {
  return [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE].some((f) => existsSync(join(dir, f)));
}

/** `batches.meta.txt` names the classes, one per line; the standard names when it is absent or odd. */
function classNames(dir: string): readonly string[] {
  const meta = join(dir, 'batches.meta.txt');
  if (!existsSync(meta)) return CIFAR10_CLASS_NAMES;
  const names = readFileSync(meta, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return names.length === CIFAR10_CLASS_NAMES.length ? names : CIFAR10_CLASS_NAMES;
}

/** The five training batches and the test batch of `dir` (e.g. the extracted `cifar-10-batches-bin`). */
export function loadCifar10Directory(dir: string, name = 'cifar10'): Dataset {
  const files = [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE];
  const missing = files.filter((f) => !existsSync(join(dir, f)));
  if (missing.length) {
    throw new DatasetError(
      `${dir}: incomplete CIFAR-10 (binary version): missing ${missing.join(', ')}; ` +
        'extract all of https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz here',
    );
  }
  const train = concatSplits(CIFAR10_TRAIN_FILES.map((f) => readCifarBatch(join(dir, f))));
  const test = readCifarBatch(join(dir, CIFAR10_TEST_FILE));
  const names = classNames(dir);
  const read = {
    format: 'cifar10' as const,
    train: CIFAR10_TRAIN_FILES.map((f) => join(dir, f)),
    test: join(dir, CIFAR10_TEST_FILE),
  };
  return { name, imageShape: [SIDE, SIDE, 3], classes: names.length, classNames: names, train, test, source: dir, files: read };
}
