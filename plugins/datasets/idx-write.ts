/** Writes IDX files (see idx.ts for the format); the mini-dataset builder uses it. */
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from './idx.ts';

function encode(magic: number, dims: readonly number[], data: Uint8Array): Uint8Array {
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(data, header);
  return out;
}

/** `count` single-channel images of rows × cols bytes as an idx3-ubyte file. */
export function encodeIdxImages(images: Uint8Array, count: number, rows: number, cols: number): Uint8Array {
  if (images.length !== count * rows * cols)
    throw new RangeError(`${images.length} bytes are not ${count} images of ${rows}×${cols}`);
  return encode(IDX_IMAGES_MAGIC, [count, rows, cols], images);
}

/** Labels as an idx1-ubyte file. */
export function encodeIdxLabels(labels: Uint8Array): Uint8Array {
  return encode(IDX_LABELS_MAGIC, [labels.length], labels);
}
