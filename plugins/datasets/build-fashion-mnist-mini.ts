/**
 * Builds fashion-mnist-mini, the Fashion-MNIST subset shipped in the repository so that a
 * default run needs no download, from the full dataset (Debian's dataset-fashion-mnist).
 *
 *   node --import tsx plugins/datasets/build-fashion-mnist-mini.ts [--source DIR] [--out DIR]
 *        [--budget BYTES] [--seed N] [--train-per-class N --test-per-class M]
 *
 * Without per-class sizes it picks the largest balanced subset (the same count of every
 * class, 5 training images per test image, the full dataset's 60k:10k being 6:1 and the issue
 * asking for about 10k:2k) whose files, gzip level 9 and LICENSE/NOTICE included, fit the
 * budget (default 4,000,000 bytes: "at most 4 MB"). The examples of a class are a prefix of
 * one seeded shuffle of that class, so a smaller subset is contained in a larger one, and the
 * same source, seed and zlib give byte-identical files (gzip's header carries no time here).
 */
import { mkdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { DatasetError, FASHION_MNIST_CLASS_NAMES, selectExamples, type Dataset, type Split } from './dataset.ts';
import { IDX_FILE_NAMES, loadIdxDirectory } from './idx-directory.ts';
import { encodeIdxImages, encodeIdxLabels } from './idx-write.ts';
import { DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_MINI_DIR } from './resolve.ts';
import { datasetRng } from './rng.ts';
import { stratifiedPick } from './stratify.ts';

const DEBIAN_COPYRIGHT = '/usr/share/doc/dataset-fashion-mnist/copyright';
const TRAIN_PER_TEST = 5;

/** The MIT (Expat) text, used when Debian's copyright file is not there to read it from. */
const MIT_TEXT = `Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.`;

/** The body of the stand-alone `License: Expat` paragraph of a Debian copyright file (DEP-5). */
function expatFromDebian(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== 'License: Expat') continue;
    const body: string[] = [];
    for (let j = i + 1; j < lines.length && lines[j]!.startsWith(' '); j++) {
      const line = lines[j]!.slice(1).trimEnd();
      body.push(line === '.' ? '' : line);
    }
    if (body.length) return body.join('\n');
  }
  return undefined;
}

function licenseText(): string {
  const body = expatFromDebian(DEBIAN_COPYRIGHT) ?? MIT_TEXT;
  return `The MIT License (MIT)\n\nCopyright (c) 2017 Zalando SE, https://tech.zalando.com\n\n${body}\n`;
}

function noticeText(train: Split, test: Split, trainPerClass: number, testPerClass: number, seed: number): string {
  return `fashion-mnist-mini
==================

A subset of Fashion-MNIST for nasnet's default runs:
  ${train.count} training images, ${trainPerClass} of each of the 10 classes, from Fashion-MNIST's training set;
  ${test.count} test images, ${testPerClass} of each class, from Fashion-MNIST's test set;
drawn at random per class (seed ${seed}) by plugins/datasets/build-fashion-mnist-mini.ts.
Images and labels are unchanged and keep their original relative order; the files
use Fashion-MNIST's IDX format and file names, gzip-compressed.

Fashion-MNIST is by Zalando Research: https://github.com/zalandoresearch/fashion-mnist
Han Xiao, Kashif Rasul, Roland Vollgraf. Fashion-MNIST: a Novel Image Dataset for
Benchmarking Machine Learning Algorithms. arXiv:1708.07747, 2017.

Fashion-MNIST, and this subset of it, are under the MIT License; see LICENSE in this directory.
`;
}

interface Built {
  readonly files: ReadonlyMap<string, Uint8Array>;
  readonly bytes: number;
  readonly train: Split;
  readonly test: Split;
}

function subset(split: Split, perClass: number, purpose: string, seed: number): Split {
  const take = new Array<number>(FASHION_MNIST_CLASS_NAMES.length).fill(perClass);
  return selectExamples(split, stratifiedPick(split.labels, take, datasetRng(purpose, seed)).picked);
}

function build(source: Dataset, trainPerClass: number, testPerClass: number, seed: number): Built {
  const train = subset(source.train, trainPerClass, 'mini-train', seed);
  const test = subset(source.test, testPerClass, 'mini-test', seed);
  const [rows, cols] = source.imageShape;
  const gz = (data: Uint8Array) => gzipSync(data, { level: 9 });
  const files = new Map<string, Uint8Array>([
    [`${IDX_FILE_NAMES['train-images']}.gz`, gz(encodeIdxImages(train.images, train.count, rows, cols))],
    [`${IDX_FILE_NAMES['train-labels']}.gz`, gz(encodeIdxLabels(train.labels))],
    [`${IDX_FILE_NAMES['test-images']}.gz`, gz(encodeIdxImages(test.images, test.count, rows, cols))],
    [`${IDX_FILE_NAMES['test-labels']}.gz`, gz(encodeIdxLabels(test.labels))],
    ['LICENSE', Buffer.from(licenseText())],
    ['NOTICE', Buffer.from(noticeText(train, test, trainPerClass, testPerClass, seed))],
  ]);
  const bytes = [...files.values()].reduce((sum, f) => sum + f.length, 0);
  return { files, bytes, train, test };
}

/** The "about 10k train / 2k test": no subset larger than this is looked for. */
const MOST_TEST_PER_CLASS = 200;

/** The largest k (up to 200) such that k×5 training and k test images per class fit `budget` bytes. */
function largestFitting(source: Dataset, budget: number, seed: number): Built {
  const most = Math.min(
    MOST_TEST_PER_CLASS,
    ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => {
      const trainK = source.train.labels.filter((l) => l === k).length;
      const testK = source.test.labels.filter((l) => l === k).length;
      return Math.min(Math.floor(trainK / TRAIN_PER_TEST), testK);
    }),
  );
  let best: Built | undefined;
  let lo = 1;
  let hi = most;
  // Sizes grow with k (a larger subset contains the smaller), so bisect on k.
  while (lo <= hi) {
    const k = Math.floor((lo + hi) / 2);
    const built = build(source, k * TRAIN_PER_TEST, k, seed);
    console.error(`  ${k * TRAIN_PER_TEST}/${k} per class: ${built.bytes} bytes`);
    if (built.bytes <= budget) {
      best = built;
      lo = k + 1;
    } else hi = k - 1;
  }
  if (!best)
    throw new DatasetError(`even 1 test and ${TRAIN_PER_TEST} training images per class exceed the budget of ${budget} bytes`);
  return best;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      source: { type: 'string', default: DEBIAN_FASHION_MNIST_DIR },
      out: { type: 'string', default: FASHION_MNIST_MINI_DIR },
      budget: { type: 'string', default: '4000000' },
      seed: { type: 'string', default: '0' },
      'train-per-class': { type: 'string' },
      'test-per-class': { type: 'string' },
    },
  });
  const integer = (flag: string, text: string) => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 0) throw new DatasetError(`--${flag} must be a whole number (got "${text}")`);
    return n;
  };
  const seed = integer('seed', values.seed);
  const budget = integer('budget', values.budget);
  const source = loadIdxDirectory(values.source, { name: 'fashion-mnist', classNames: FASHION_MNIST_CLASS_NAMES });
  const fixed = values['train-per-class'] !== undefined || values['test-per-class'] !== undefined;
  if (fixed && (values['train-per-class'] === undefined || values['test-per-class'] === undefined)) {
    throw new DatasetError('give both --train-per-class and --test-per-class, or neither');
  }
  const built = fixed
    ? build(
        source,
        integer('train-per-class', values['train-per-class']!),
        integer('test-per-class', values['test-per-class']!),
        seed,
      )
    : largestFitting(source, budget, seed);
  mkdirSync(values.out, { recursive: true });
  for (const [name, data] of built.files) {
    writeFileSync(join(values.out, name), data);
    console.log(`${join(values.out, name)}  ${data.length} bytes`);
  }
  console.log(`train ${built.train.count}, test ${built.test.count}, ${built.bytes} bytes in all (budget ${budget})`);
}

try {
  main();
} catch (error) {
  console.error(error instanceof DatasetError ? `build-fashion-mnist-mini: ${error.message}` : error);
  process.exitCode = 1;
}
