/**
 * From a dataset name or a path to a loaded Dataset. Names win over paths: to load a
 * directory called `cifar10` in the working directory, write `./cifar10`.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasCifarFiles, loadCifar10Directory } from './cifar10.ts';
import { DatasetError, FASHION_MNIST_CLASS_NAMES, MNIST_CLASS_NAMES, type Dataset } from './dataset.ts';
import { hasIdxFiles, loadIdxDirectory } from './idx-directory.ts';

/** The subset shipped in the repository (build-fashion-mnist-mini.ts writes it). */
export const FASHION_MNIST_MINI_DIR = fileURLToPath(new URL('./data/fashion-mnist-mini', import.meta.url));
/** Where Debian's `dataset-fashion-mnist` package installs the IDX files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const DATASET_NAMES = ['fashion-mnist-mini', 'fashion-mnist', 'cifar10'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

// A Map, not an object literal: a path called `constructor` must not find Object's prototype.
const ALIASES: ReadonlyMap<string, DatasetName> = new Map([
  ['fashion-mnist-mini', 'fashion-mnist-mini'],
  ['fashion-mnist', 'fashion-mnist'],
  ['fashionmnist', 'fashion-mnist'],
  ['cifar10', 'cifar10'],
  ['cifar-10', 'cifar10'],
]);

export interface LoadOptions {
  /** Where downloaded datasets live; default $NASNET_DATA. */
  readonly dataDir?: string;
  /** Where NASNET_DATA is read from; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Class names for a path to IDX files, which do not name their classes. Default:
   * Fashion-MNIST's when the path contains "fashion", else the digits 0-9 (MNIST).
   */
  readonly classNames?: readonly string[];
}

/** A place a named dataset may be, with why it is looked at (for the not-found message). */
export interface Location {
  readonly dir: string;
  readonly why: string;
}

const HOW_TO_GET: Readonly<Record<Exclude<DatasetName, 'fashion-mnist-mini'>, string>> = {
  'fashion-mnist':
    'install it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu; it goes to /usr/share/datasets/fashion-mnist), ' +
    'or download the four *-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist into $NASNET_DATA/fashion-mnist. ' +
    'The small subset `fashion-mnist-mini` ships with nasnet and needs nothing',
  cifar10:
    'download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz (the binary version) and extract it into $NASNET_DATA ' +
    '(it makes $NASNET_DATA/cifar-10-batches-bin)',
};

/** The places a named dataset is looked for, in order. */
export function datasetLocations(name: Exclude<DatasetName, 'fashion-mnist-mini'>, options: LoadOptions = {}): Location[] {
  const env = options.env ?? process.env;
  const root = options.dataDir ?? env['NASNET_DATA'];
  const rootWhy = options.dataDir !== undefined ? 'dataDir' : '$NASNET_DATA';
  const under = (sub: string): Location[] => (root ? [{ dir: join(root, sub), why: `${rootWhy}/${sub}` }] : []);
  if (name === 'fashion-mnist') {
    return [
      ...under('fashion-mnist'),
      ...(root ? [{ dir: root, why: rootWhy }] : []),
      { dir: DEBIAN_FASHION_MNIST_DIR, why: 'Debian package dataset-fashion-mnist' },
    ];
  }
  return [...under('cifar-10-batches-bin'), ...under('cifar10'), ...under(join('cifar10', 'cifar-10-batches-bin'))];
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

function loadNamed(name: Exclude<DatasetName, 'fashion-mnist-mini'>, options: LoadOptions): Dataset {
  const has = name === 'fashion-mnist' ? hasIdxFiles : hasCifarFiles;
  const locations = datasetLocations(name, options);
  // The first place holding any of the files is the one meant: a broken or incomplete copy there
  // is reported as such rather than skipped in favour of another copy the user did not mean.
  const found = locations.find((l) => isDirectory(l.dir) && has(l.dir));
  if (found) {
    return name === 'fashion-mnist'
      ? loadIdxDirectory(found.dir, { name, classNames: FASHION_MNIST_CLASS_NAMES })
      : loadCifar10Directory(found.dir, name);
  }
  const looked = locations.map(
    (l) => `  ${l.dir} (${l.why}): ${isDirectory(l.dir) ? 'no dataset files there' : 'no such directory'}`,
  );
  const unset =
    options.dataDir === undefined && !(options.env ?? process.env)['NASNET_DATA'] ? ['  ($NASNET_DATA is not set)'] : [];
  throw new DatasetError(
    `dataset ${name} not found; looked in:\n${[...looked, ...unset].join('\n')}\nTo get it: ${HOW_TO_GET[name]}.`,
  );
}

function loadPath(path: string, options: LoadOptions): Dataset {
  const dir = resolve(path);
  if (!isDirectory(dir)) throw new DatasetError(`${dir}: is a file; give the directory that holds the dataset files`);
  const name = basename(dir);
  if (hasIdxFiles(dir)) {
    const classNames = options.classNames ?? (/fashion/i.test(dir) ? FASHION_MNIST_CLASS_NAMES : MNIST_CLASS_NAMES);
    return loadIdxDirectory(dir, { name, classNames });
  }
  if (hasCifarFiles(dir)) return loadCifar10Directory(dir, name);
  const nested = join(dir, 'cifar-10-batches-bin');
  if (isDirectory(nested) && hasCifarFiles(nested)) return loadCifar10Directory(nested, name);
  throw new DatasetError(
    `${dir}: holds no dataset: expected IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, ` +
      't10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each may end in .gz) or CIFAR-10 binary batches ' +
      '(data_batch_1.bin … data_batch_5.bin, test_batch.bin)',
  );
}

/**
 * loadDataset, remembering each dataset it loaded: a trainer trains many children on the same
 * data, and reading and checking the files again for each would cost seconds per child.
 */
export function cachedDatasetLoader(): (nameOrPath: string) => Dataset {
  const loaded = new Map<string, Dataset>();
  return (nameOrPath) => {
    let dataset = loaded.get(nameOrPath);
    if (!dataset) loaded.set(nameOrPath, (dataset = loadDataset(nameOrPath)));
    return dataset;
  };
}

/**
 * Loads `fashion-mnist-mini` (shipped), `fashion-mnist`, `cifar10`, or a directory holding IDX
 * files or CIFAR-10 batches.
 */
export function loadDataset(nameOrPath: string, options: LoadOptions = {}): Dataset {
  const name = ALIASES.get(nameOrPath.toLowerCase());
  if (name === 'fashion-mnist-mini') {
    if (!hasIdxFiles(FASHION_MNIST_MINI_DIR)) {
      throw new DatasetError(
        `${FASHION_MNIST_MINI_DIR}: the shipped fashion-mnist-mini files are missing; rebuild them with ` +
          '`node --import tsx plugins/datasets/build-fashion-mnist-mini.ts` (needs dataset-fashion-mnist installed)',
      );
    }
    return loadIdxDirectory(FASHION_MNIST_MINI_DIR, { name, classNames: FASHION_MNIST_CLASS_NAMES });
  }
  if (name) return loadNamed(name, options);
  if (existsSync(nameOrPath)) return loadPath(nameOrPath, options);
  throw new DatasetError(
    `unknown dataset "${nameOrPath}": not one of ${DATASET_NAMES.join(', ')}, and no file or directory of that name exists`,
  );
}
