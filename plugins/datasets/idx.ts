/**
 * IDX files, the format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/):
 * a big-endian header (magic 0x0000TTNN: data type TT, NN dimensions; then NN uint32 sizes)
 * followed by the values. Only unsigned-byte files are read, which is all these datasets use.
 */
import { DatasetError, type Split } from './dataset.ts';
import { readDatasetFile } from './read-file.ts';

/** Unsigned bytes, 3 dimensions (count, rows, columns). */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Unsigned bytes, 1 dimension (count). */
export const IDX_LABELS_MAGIC = 0x00000801;

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

interface IdxArray {
  readonly dims: number[];
  /** The values after the header (a view on the file's bytes). */
  readonly data: Uint8Array;
}

/** Reads one IDX file and checks its header against `magic` and its size against the header. */
function readIdx(path: string, magic: number, what: string): IdxArray {
  const { bytes, gzipped } = readDatasetFile(path);
  const ndim = magic & 0xff;
  const headerBytes = 4 + 4 * ndim;
  const asRead = gzipped ? ' (after gunzip)' : '';
  const tooShort = (needed: number) =>
    new DatasetError(
      `${path}: too short to be an IDX ${what} file: ${bytes.length} bytes${asRead}, but its header alone is ${needed} bytes`,
    );
  if (bytes.length < 4) throw tooShort(headerBytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0);
  if (found !== magic) {
    const other = found === IDX_IMAGES_MAGIC ? 'images' : found === IDX_LABELS_MAGIC ? 'labels' : null;
    throw new DatasetError(
      `${path}: not an IDX ${what} file: magic number ${hex(found)}, expected ${hex(magic)}` +
        (other ? ` (this is an IDX ${other} file: are the file names swapped?)` : ''),
    );
  }
  if (bytes.length < headerBytes) throw tooShort(headerBytes);
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i));
  const expected = headerBytes + dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== expected) {
    const promise = `the header promises ${dims.join('×')} values, ${expected} bytes in all with the ${headerBytes}-byte header`;
    const problem = bytes.length < expected ? 'truncated' : 'longer than its header says';
    throw new DatasetError(
      `${path}: ${problem}: ${promise}, but the file holds ${bytes.length} bytes${asRead}` +
        (bytes.length < expected ? '; the download is probably incomplete: fetch the file again' : ''),
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

export interface IdxImages {
  /** count × rows × cols bytes, row-major: already HWC with one channel. */
  readonly images: Uint8Array;
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
}

/** An `*-images-idx3-ubyte[.gz]` file. */
export function readIdxImages(path: string): IdxImages {
  const { dims, data } = readIdx(path, IDX_IMAGES_MAGIC, 'images');
  const [count, rows, cols] = dims as [number, number, number];
  if (rows === 0 || cols === 0)
    throw new DatasetError(`${path}: images of ${rows}×${cols} pixels: rows and columns must be at least 1`);
  // Copy out of the (possibly pooled or larger) file buffer so the split owns exactly its pixels.
  return { images: new Uint8Array(data), count, rows, cols };
}

/** An `*-labels-idx1-ubyte[.gz]` file; every label must be below `classes`. */
export function readIdxLabels(path: string, classes: number): Uint8Array {
  const { data } = readIdx(path, IDX_LABELS_MAGIC, 'labels');
  const bad = data.findIndex((label) => label >= classes);
  if (bad >= 0) {
    throw new DatasetError(
      `${path}: label ${data[bad]} at index ${bad} is out of range: with ${classes} classes labels must be 0-${classes - 1}`,
    );
  }
  return new Uint8Array(data);
}

/** An images file and its labels file as one split; the two must hold the same number of examples. */
export function readIdxSplit(imagesPath: string, labelsPath: string, classes: number): Split {
  const { images, count, rows, cols } = readIdxImages(imagesPath);
  const labels = readIdxLabels(labelsPath, classes);
  if (labels.length !== count) {
    throw new DatasetError(
      `${imagesPath} holds ${count} images but ${labelsPath} holds ${labels.length} labels: ` +
        'the two files must describe the same examples (are they from the same split and the same download?)',
    );
  }
  return { images, labels, count, imageShape: [rows, cols, 1] };
}
