import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { applyTransform } from '../../plugins/datasets/augment.ts';
import {
  augmentImage,
  batches,
  channelStats,
  classCounts,
  datasetLocations,
  DatasetError,
  DEBIAN_FASHION_MNIST_DIR,
  defaultAugmentation,
  FASHION_MNIST_MINI_DIR,
  loadCifar10Directory,
  loadDataset,
  loadIdxDirectory,
  MNIST_CLASS_NAMES,
  readIdxSplit,
  splitValidation,
  type ImageShape,
  type Split,
} from '../../plugins/datasets/index.ts';
import { datasetRng } from '../../plugins/datasets/rng.ts';

const root = mkdtempSync(join(tmpdir(), 'nasnet-datasets-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
/** A fresh empty directory under the test's temp dir. */
function freshDir(): string {
  const dir = join(root, `d${dirCount++}`);
  mkdirSync(dir);
  return dir;
}

// ---- fixtures, written by hand from the format description (not with the project's writer) ----

function be32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** Pixel (i, y, x) of the IDX fixtures: distinct per image and position. */
const fixturePixel = (i: number, y: number, x: number) => (i * 31 + y * 7 + x) % 256;

function idxImages(count: number, rows: number, cols: number, magic = 0x00000803): Buffer {
  const pixels = Buffer.alloc(count * rows * cols);
  for (let i = 0; i < count; i++)
    for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) pixels[(i * rows + y) * cols + x] = fixturePixel(i, y, x);
  return Buffer.concat([be32(magic), be32(count), be32(rows), be32(cols), pixels]);
}

function idxLabels(labels: number[], magic = 0x00000801): Buffer {
  return Buffer.concat([be32(magic), be32(labels.length), Buffer.from(labels)]);
}

const LABELS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1];

/** A directory with the four IDX files of 12 train and 5 test 4×3 images. */
function writeIdxDir(dir: string, gzip: boolean): string {
  mkdirSync(dir, { recursive: true });
  const z = (b: Buffer) => (gzip ? gzipSync(b) : b);
  const ext = gzip ? '.gz' : '';
  writeFileSync(join(dir, `train-images-idx3-ubyte${ext}`), z(idxImages(12, 4, 3)));
  writeFileSync(join(dir, `train-labels-idx1-ubyte${ext}`), z(idxLabels(LABELS)));
  writeFileSync(join(dir, `t10k-images-idx3-ubyte${ext}`), z(idxImages(5, 4, 3)));
  writeFileSync(join(dir, `t10k-labels-idx1-ubyte${ext}`), z(idxLabels([9, 8, 7, 6, 5])));
  return dir;
}

/** Writes `bytes` to a file in a fresh directory and returns its path. */
function writeFile(name: string, bytes: Buffer): string {
  const path = join(freshDir(), name);
  writeFileSync(path, bytes);
  return path;
}

/** Asserts `fn` throws a DatasetError whose message contains every one of `parts`. */
function throwsNaming(fn: () => unknown, ...parts: Array<string | RegExp>): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof DatasetError, `expected a DatasetError, got ${String(error)}`);
    for (const part of parts) {
      if (typeof part === 'string') assert.ok(error.message.includes(part), `message lacks "${part}": ${error.message}`);
      else assert.match(error.message, part);
    }
    return true;
  });
}

/** CIFAR record bytes for image n of a batch: R plane = (p + n) % 256, G = (2p) % 256, B = label. */
function cifarBatch(labels: number[]): Buffer {
  const records = labels.map((label, n) => {
    const r = Buffer.alloc(3073);
    r[0] = label;
    for (let p = 0; p < 1024; p++) {
      r[1 + p] = (p + n) % 256;
      r[1 + 1024 + p] = (2 * p) % 256;
      r[1 + 2048 + p] = label;
    }
    return r;
  });
  return Buffer.concat(records);
}

function writeCifarDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (let b = 1; b <= 5; b++) writeFileSync(join(dir, `data_batch_${b}.bin`), cifarBatch([b, (b + 1) % 10]));
  writeFileSync(join(dir, 'test_batch.bin'), cifarBatch([7, 3, 9]));
  return dir;
}

/**
 * An in-memory split of `labels.length` 2×2×1 images whose pixels encode the example's index
 * (bytes 0-1) and label (byte 2), so any example can be recognised wherever it ends up.
 */
function taggedSplit(labels: number[]): Split {
  const images = new Uint8Array(labels.length * 4);
  labels.forEach((label, i) => images.set([i & 255, i >> 8, label, 0], i * 4));
  return { images, labels: Uint8Array.from(labels), count: labels.length, imageShape: [2, 2, 1] };
}
const tagOf = (images: Uint8Array, i: number) => images[i * 4]! + 256 * images[i * 4 + 1]!;

// ---- IDX ----

describe('IDX loader', () => {
  for (const gzip of [true, false]) {
    it(`reads ${gzip ? 'gzip' : 'raw'} image and label files into an HWC split`, () => {
      const dir = writeIdxDir(freshDir(), gzip);
      const ext = gzip ? '.gz' : '';
      const split = readIdxSplit(join(dir, `train-images-idx3-ubyte${ext}`), join(dir, `train-labels-idx1-ubyte${ext}`), 10);
      assert.equal(split.count, 12);
      assert.deepEqual(split.imageShape, [4, 3, 1]);
      assert.deepEqual([...split.labels], LABELS);
      assert.equal(split.images.length, 12 * 12);
      assert.equal(split.images[(5 * 4 + 2) * 3 + 1], fixturePixel(5, 2, 1));
    });
  }

  it('detects gzip by its magic bytes, not the file name', () => {
    const rawNamedGz = writeFile('x-images-idx3-ubyte.gz', idxImages(2, 2, 2));
    const gzNamedRaw = writeFile('x-labels-idx1-ubyte', gzipSync(idxLabels([1, 0])));
    const split = readIdxSplit(rawNamedGz, gzNamedRaw, 10);
    assert.equal(split.count, 2);
    assert.deepEqual([...split.labels], [1, 0]);
  });

  it('loads a directory of IDX files as a dataset', () => {
    const dir = writeIdxDir(freshDir(), true);
    const ds = loadIdxDirectory(dir, { name: 'tiny', classNames: MNIST_CLASS_NAMES });
    assert.equal(ds.name, 'tiny');
    assert.deepEqual(ds.imageShape, [4, 3, 1]);
    assert.equal(ds.classes, 10);
    assert.equal(ds.train.count, 12);
    assert.equal(ds.test.count, 5);
    assert.deepEqual([...ds.test.labels], [9, 8, 7, 6, 5]);
    assert.equal(ds.source, dir);
  });

  it('rejects a bad magic number, naming the file and both numbers', () => {
    const images = writeFile('train-images-idx3-ubyte', idxImages(2, 2, 2, 0x12345678));
    const labels = writeFile('train-labels-idx1-ubyte', idxLabels([0, 1]));
    throwsNaming(() => readIdxSplit(images, labels, 10), images, 'magic number 0x12345678', 'expected 0x00000803');
    // A labels file given as images: the message says what it is instead.
    throwsNaming(() => readIdxSplit(labels, images, 10), labels, 'magic number 0x00000801', 'this is an IDX labels file');
  });

  it('rejects a truncated file with the expected and actual sizes', () => {
    const full = idxImages(3, 4, 4); // 16 + 48 = 64 bytes
    const images = writeFile('train-images-idx3-ubyte', full.subarray(0, 60));
    const labels = writeFile('train-labels-idx1-ubyte', idxLabels([0, 1, 2]));
    throwsNaming(
      () => readIdxSplit(images, labels, 10),
      images,
      'truncated',
      '64 bytes',
      'holds 60 bytes',
      'fetch the file again',
    );
    const gz = writeFile('train-images-idx3-ubyte.gz', gzipSync(full.subarray(0, 60)));
    throwsNaming(() => readIdxSplit(gz, labels, 10), gz, 'truncated', '64 bytes', '60 bytes (after gunzip)');
    const header = writeFile('t10k-labels-idx1-ubyte', Buffer.from([0, 0, 8, 1, 0]));
    const valid = writeFile('t10k-images-idx3-ubyte', full);
    throwsNaming(() => readIdxSplit(valid, header, 10), header, 'too short', '5 bytes', '8 bytes');
  });

  it('rejects a gzip file that does not decompress', () => {
    const gz = gzipSync(idxImages(3, 4, 4));
    const images = writeFile('train-images-idx3-ubyte.gz', gz.subarray(0, gz.length - 10));
    const labels = writeFile('train-labels-idx1-ubyte', idxLabels([0, 1, 2]));
    throwsNaming(() => readIdxSplit(images, labels, 10), images, 'does not decompress');
  });

  it('rejects a file longer than its header promises', () => {
    const images = writeFile('train-images-idx3-ubyte', Buffer.concat([idxImages(3, 4, 4), Buffer.alloc(5)]));
    const labels = writeFile('train-labels-idx1-ubyte', idxLabels([0, 1, 2]));
    throwsNaming(() => readIdxSplit(images, labels, 10), images, 'longer than its header says', '64 bytes', 'holds 69 bytes');
  });

  it('rejects image and label files of different counts, naming both', () => {
    const images = writeFile('train-images-idx3-ubyte', idxImages(3, 2, 2));
    const labels = writeFile('train-labels-idx1-ubyte', idxLabels([0, 1, 2, 3]));
    throwsNaming(() => readIdxSplit(images, labels, 10), images, labels, '3 images', '4 labels');
  });

  it('rejects a label not below the number of classes', () => {
    const images = writeFile('train-images-idx3-ubyte', idxImages(3, 2, 2));
    const labels = writeFile('train-labels-idx1-ubyte', idxLabels([0, 10, 2]));
    throwsNaming(() => readIdxSplit(images, labels, 10), labels, 'label 10 at index 1', '0-9');
  });

  it('names the missing files of an incomplete directory', () => {
    const dir = writeIdxDir(freshDir(), false);
    rmSync(join(dir, 't10k-labels-idx1-ubyte'));
    throwsNaming(
      () => loadIdxDirectory(dir, { name: 'x', classNames: MNIST_CLASS_NAMES }),
      dir,
      'missing t10k-labels-idx1-ubyte',
    );
  });
});

// ---- CIFAR-10 ----

describe('CIFAR-10 loader', () => {
  it('reads the five training batches and the test batch, planes to HWC', () => {
    const dir = writeCifarDir(freshDir());
    const ds = loadCifar10Directory(dir);
    assert.equal(ds.name, 'cifar10');
    assert.deepEqual(ds.imageShape, [32, 32, 3]);
    assert.equal(ds.classNames[0], 'airplane');
    assert.equal(ds.train.count, 10);
    assert.equal(ds.test.count, 3);
    assert.deepEqual([...ds.train.labels], [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
    // Image 1 of batch 1 (train index 1), pixel (y=3, x=5): p = 3*32+5 = 101.
    const at = 1 * 3072 + (3 * 32 + 5) * 3;
    assert.deepEqual([...ds.train.images.subarray(at, at + 3)], [(101 + 1) % 256, 202, 2]);
    const t = 2 * 3072 + (31 * 32 + 31) * 3; // test image 2, last pixel p = 1023
    assert.deepEqual([...ds.test.images.subarray(t, t + 3)], [(1023 + 2) % 256, 2046 % 256, 9]);
  });

  it('rejects a batch whose size is not a multiple of 3073, naming it', () => {
    const dir = writeCifarDir(freshDir());
    const path = join(dir, 'test_batch.bin');
    writeFileSync(path, cifarBatch([1, 2]).subarray(0, 3073 * 2 - 7));
    throwsNaming(() => loadCifar10Directory(dir), path, '6139 bytes', '3073 bytes each', '1 records and 3066 bytes left over');
  });

  it('names the missing batch files', () => {
    const dir = writeCifarDir(freshDir());
    rmSync(join(dir, 'data_batch_3.bin'));
    rmSync(join(dir, 'test_batch.bin'));
    throwsNaming(() => loadCifar10Directory(dir), dir, 'missing data_batch_3.bin, test_batch.bin', 'cifar-10-binary.tar.gz');
  });
});

// ---- validation split ----

describe('splitValidation', () => {
  // 60 of class 0, 30 of class 1, 10 of class 2, interleaved
  const labels = Array.from({ length: 100 }, (_, i) => (i % 10 === 9 ? 2 : i % 3 === 0 ? 1 : 0));
  const counts = classCounts(Uint8Array.from(labels), 3);
  const split = taggedSplit(labels);

  it('is stratified, disjoint from the training half, and covers the set', () => {
    const { train, validation } = splitValidation(split, { fraction: 0.2, seed: 1 });
    assert.equal(validation.count, 20);
    assert.equal(train.count, 80);
    const share = classCounts(validation.labels, 3);
    counts.forEach((c, k) => assert.ok(Math.abs(share[k]! - c * 0.2) < 1, `class ${k}: ${share[k]} of ${c}`));
    const tags = (s: Split) => Array.from({ length: s.count }, (_, i) => tagOf(s.images, i));
    const trainTags = new Set(tags(train));
    const validationTags = tags(validation);
    assert.ok(
      validationTags.every((t) => !trainTags.has(t)),
      'a validation example is also in train',
    );
    assert.deepEqual(
      [...trainTags, ...validationTags].sort((a, b) => a - b),
      Array.from({ length: 100 }, (_, i) => i),
    );
    // labels travel with their images
    for (const s of [train, validation]) for (let i = 0; i < s.count; i++) assert.equal(s.labels[i], s.images[i * 4 + 2]);
  });

  it('is the same for a seed and differs between seeds', () => {
    const tagsOf = (seed: number) => {
      const { validation } = splitValidation(split, { count: 25, seed });
      return Array.from({ length: validation.count }, (_, i) => tagOf(validation.images, i));
    };
    assert.deepEqual(tagsOf(7), tagsOf(7));
    assert.notDeepEqual(tagsOf(7), tagsOf(8));
    assert.equal(tagsOf(7).length, 25);
  });

  it('rejects sizes it cannot honour', () => {
    throwsNaming(() => splitValidation(split, { fraction: 1.5, seed: 0 }), 'fraction', '1.5');
    throwsNaming(() => splitValidation(split, { count: 100, seed: 0 }), 'count', 'from 1 to 99');
    throwsNaming(() => splitValidation(split, { count: 10, seed: 0.5 }), 'seed', '0.5');
  });
});

// ---- normalisation, augmentation, batches ----

describe('normalisation', () => {
  it('computes per-channel mean and std on [0, 1] and applies them to batches', () => {
    // two 1×2×3 images; channel 0 constant 255, channel 1 is 0 or 255, channel 2 is 0, 51, 102, 153
    const images = Uint8Array.from([255, 0, 0, 255, 255, 51, 255, 0, 102, 255, 255, 153]);
    const split: Split = { images, labels: Uint8Array.from([0, 1]), count: 2, imageShape: [1, 2, 3] };
    const stats = channelStats(split);
    const expected = { mean: [1, 0.5, 0.3], std: [0, 0.5, Math.sqrt((0.09 + 0.01 + 0.01 + 0.09) / 4)] };
    stats.mean.forEach((m, k) => assert.ok(Math.abs(m - expected.mean[k]!) < 1e-12, `mean ${k}`));
    stats.std.forEach((s, k) => assert.ok(Math.abs(s - expected.std[k]!) < 1e-12, `std ${k}`));
    const [batch] = [...batches(split, { batchSize: 2, normalise: stats })];
    assert.ok(batch);
    // channel 0 has std 0: centred only; channel 1: ±1
    assert.deepEqual(
      [...batch.x.subarray(0, 3)].map((v) => Math.round(v * 1000) / 1000),
      [0, -1, -1.342],
    );
    const plain = [...batches(split, { batchSize: 2 })][0]!;
    assert.ok(Math.abs(plain.x[5]! - 51 / 255) < 1e-7, 'without statistics pixels are scaled to [0, 1]');
  });
});

describe('augmentation', () => {
  const shape: ImageShape = [4, 5, 1];
  const image = Uint8Array.from({ length: 20 }, (_, i) => i + 1); // pixel (y, x) = 5y + x + 1

  function transformed(dy: number, dx: number, flip: boolean, padding = 2): number[][] {
    const out = new Uint8Array(20);
    applyTransform(image, 0, shape, padding, { dy, dx, flip }, out, 0);
    return Array.from({ length: 4 }, (_, y) => [...out.subarray(y * 5, y * 5 + 5)]);
  }

  it('crops a zero-padded image: offset 0 shifts content down-right, 2p up-left, p is the identity', () => {
    assert.deepEqual(transformed(0, 0, false), [
      [0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0],
      [0, 0, 1, 2, 3],
      [0, 0, 6, 7, 8],
    ]);
    assert.deepEqual(transformed(4, 3, false), [
      [12, 13, 14, 15, 0],
      [17, 18, 19, 20, 0],
      [0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0],
    ]);
    assert.deepEqual(transformed(2, 2, false).flat(), [...image]);
  });

  it('flips left-right after cropping', () => {
    assert.deepEqual(transformed(2, 2, true)[0], [5, 4, 3, 2, 1]);
    // the crop shifts row 1 left to [7, 8, 9, 10, 0], then the flip mirrors it
    assert.deepEqual(transformed(2, 3, true)[1], [0, 10, 9, 8, 7]);
  });

  it('keeps the shape and is deterministic per seed', () => {
    const rgb: ImageShape = [8, 8, 3];
    const img = Uint8Array.from({ length: 192 }, (_, i) => (i * 37) % 256);
    const run = (seed: number) => {
      const rng = datasetRng('augment-test', seed);
      return Array.from({ length: 8 }, () => augmentImage(img, rgb, { padding: 2, flip: true }, rng));
    };
    const a = run(3);
    assert.ok(a.every((x) => x.length === img.length));
    assert.deepEqual(a, run(3));
    assert.notDeepEqual(a, run(4));
    assert.deepEqual(augmentImage(img, rgb, { padding: 0, flip: false }, datasetRng('x', 1)), img);
    throwsNaming(() => augmentImage(img, rgb, { padding: 8, flip: false }, datasetRng('x', 1)), 'padding 8', '8×8');
  });

  it('flips CIFAR by default and not Fashion-MNIST', () => {
    assert.deepEqual(defaultAugmentation({ name: 'cifar10' }), { padding: 4, flip: true });
    assert.deepEqual(defaultAugmentation({ name: 'fashion-mnist' }), { padding: 2, flip: false });
  });
});

describe('batches', () => {
  const split = taggedSplit(Array.from({ length: 103 }, (_, i) => i % 10));
  const epochTags = (options: Parameters<typeof batches>[1]) =>
    [...batches(split, options)].flatMap((b) =>
      Array.from({ length: b.size }, (_, i) => Math.round(b.x[i * 4]! * 255) + 256 * Math.round(b.x[i * 4 + 1]! * 255)),
    );

  it('visits every example exactly once per epoch, in NHWC floats with int32 labels', () => {
    const all = [...batches(split, { batchSize: 16, shuffle: true, seed: 5 })];
    assert.deepEqual(
      all.map((b) => b.size),
      [16, 16, 16, 16, 16, 16, 7],
    );
    for (const b of all) {
      assert.ok(b.x instanceof Float32Array && b.y instanceof Int32Array);
      assert.equal(b.x.length, b.size * 4);
      for (let i = 0; i < b.size; i++) assert.equal(b.y[i], Math.round(b.x[i * 4 + 2]! * 255), 'label matches its image');
    }
    const tags = epochTags({ batchSize: 16, shuffle: true, seed: 5 });
    assert.deepEqual(
      [...tags].sort((a, b) => a - b),
      Array.from({ length: 103 }, (_, i) => i),
    );
    assert.notDeepEqual(
      tags,
      [...tags].sort((a, b) => a - b),
      'shuffled',
    );
    assert.deepEqual(
      epochTags({ batchSize: 10 }),
      Array.from({ length: 103 }, (_, i) => i),
      'in order without shuffle',
    );
    assert.equal(epochTags({ batchSize: 16, dropLast: true }).length, 96);
  });

  it('shuffles the same way for a seed and epoch, differently for another epoch', () => {
    const order = (epoch: number) => epochTags({ batchSize: 32, shuffle: true, seed: 9, epoch });
    assert.deepEqual(order(1), order(1));
    assert.notDeepEqual(order(1), order(2));
    // augmentation draws from its own stream: turning it on keeps the order (tags survive padding 0)
    assert.deepEqual(
      epochTags({ batchSize: 32, shuffle: true, seed: 9, epoch: 1, augment: { padding: 0, flip: false } }),
      order(1),
    );
  });

  it('augments deterministically and needs a seed to shuffle or augment', () => {
    const images = Uint8Array.from({ length: 10 * 48 }, (_, i) => (i * 13) % 256);
    const rgb: Split = { images, labels: new Uint8Array(10), count: 10, imageShape: [4, 4, 3] };
    const xs = (seed: number) =>
      [...batches(rgb, { batchSize: 4, seed, augment: { padding: 1, flip: true } })].map((b) => [...b.x]);
    assert.deepEqual(xs(1), xs(1));
    assert.notDeepEqual(xs(1), xs(2));
    assert.equal(xs(1).flat().length, 480);
    throwsNaming(() => [...batches(split, { batchSize: 4, shuffle: true })], 'seed is required');
    throwsNaming(() => [...batches(split, { batchSize: 0 })], 'batchSize', '0');
  });
});

// ---- names and paths ----

describe('loadDataset', () => {
  it('loads the shipped fashion-mnist-mini, balanced', () => {
    const ds = loadDataset('fashion-mnist-mini');
    assert.equal(ds.name, 'fashion-mnist-mini');
    assert.equal(ds.source, FASHION_MNIST_MINI_DIR);
    assert.deepEqual(ds.imageShape, [28, 28, 1]);
    assert.equal(ds.classes, 10);
    assert.equal(ds.classNames[9], 'Ankle boot');
    assert.equal(ds.train.count, 7550);
    assert.equal(ds.test.count, 1510);
    assert.deepEqual(classCounts(ds.train.labels, 10), new Array(10).fill(755));
    assert.deepEqual(classCounts(ds.test.labels, 10), new Array(10).fill(151));
    const bytes = [
      'train-images-idx3-ubyte.gz',
      'train-labels-idx1-ubyte.gz',
      't10k-images-idx3-ubyte.gz',
      't10k-labels-idx1-ubyte.gz',
      'LICENSE',
      'NOTICE',
    ]
      .map((f) => statSync(join(FASHION_MNIST_MINI_DIR, f)).size)
      .reduce((a, b) => a + b, 0);
    assert.ok(bytes <= 4_000_000, `${bytes} bytes`);
  });

  it("loads fashion-mnist from Debian's /usr/share/datasets/fashion-mnist", {
    skip: existsSync(DEBIAN_FASHION_MNIST_DIR)
      ? false
      : `${DEBIAN_FASHION_MNIST_DIR} is absent (apt-get install dataset-fashion-mnist)`,
  }, () => {
    const ds = loadDataset('fashion-mnist', { env: {} });
    assert.equal(ds.source, DEBIAN_FASHION_MNIST_DIR);
    assert.equal(ds.train.count, 60000);
    assert.equal(ds.test.count, 10000);
    assert.deepEqual(ds.imageShape, [28, 28, 1]);
    assert.deepEqual(classCounts(ds.test.labels, 10), new Array(10).fill(1000));
  });

  it('looks in $NASNET_DATA (or dataDir) before the system directory', () => {
    const data = freshDir();
    writeIdxDir(join(data, 'fashion-mnist'), true);
    const ds = loadDataset('fashion-mnist', { env: { NASNET_DATA: data } });
    assert.equal(ds.source, join(data, 'fashion-mnist'));
    assert.equal(ds.classNames[0], 'T-shirt/top');
    assert.equal(ds.train.count, 12);
    writeCifarDir(join(data, 'cifar-10-batches-bin'));
    assert.equal(loadDataset('cifar10', { dataDir: data, env: {} }).train.count, 10);
    assert.deepEqual(
      datasetLocations('fashion-mnist', { env: { NASNET_DATA: '/d' } }).map((l) => l.dir),
      ['/d/fashion-mnist', '/d', DEBIAN_FASHION_MNIST_DIR],
    );
  });

  it('lists every place looked and how to get the data when nothing is found', () => {
    const empty = freshDir();
    throwsNaming(
      () => loadDataset('cifar10', { dataDir: empty, env: {} }),
      'dataset cifar10 not found',
      join(empty, 'cifar-10-batches-bin'),
      join(empty, 'cifar10'),
      join(empty, 'cifar10', 'cifar-10-batches-bin'),
      'cifar-10-binary.tar.gz',
    );
    throwsNaming(() => loadDataset('cifar10', { env: {} }), '$NASNET_DATA is not set');
  });

  it('loads a directory path as IDX or CIFAR, and rejects other paths and names', () => {
    const idx = writeIdxDir(freshDir(), false);
    const ds = loadDataset(idx);
    assert.equal(ds.classNames[3], '3');
    assert.equal(ds.test.count, 5);
    assert.equal(loadDataset(writeCifarDir(freshDir())).test.count, 3);
    const empty = freshDir();
    throwsNaming(() => loadDataset(empty), empty, 'holds no dataset', 'train-images-idx3-ubyte', 'data_batch_1.bin');
    const file = writeFile('notes.txt', Buffer.from('x'));
    throwsNaming(() => loadDataset(file), file, 'is a file');
    throwsNaming(() => loadDataset('constructor'), 'unknown dataset "constructor"');
    throwsNaming(() => loadDataset('imagenet-42'), 'unknown dataset "imagenet-42"', 'fashion-mnist-mini, fashion-mnist, cifar10');
  });
});
