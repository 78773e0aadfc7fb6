import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DatasetError } from './dataset.ts';

export interface FileBytes {
  /** The content, decompressed when the file was gzip. */
  readonly bytes: Uint8Array;
  readonly gzipped: boolean;
}

/**
 * Reads a dataset file, gunzipping it when it starts with gzip's magic bytes (1f 8b). The
 * magic, not the `.gz` suffix, decides: browsers and some mirrors save
 * `train-images-idx3-ubyte.gz` already decompressed, or the raw file with a `.gz` name.
 */
export function readDatasetFile(path: string): FileBytes {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (error) {
    throw new DatasetError(`${path}: cannot read: ${(error as Error).message}`, { cause: error });
  }
  if (raw.length < 2 || raw[0] !== 0x1f || raw[1] !== 0x8b) return { bytes: raw, gzipped: false };
  try {
    return { bytes: gunzipSync(raw), gzipped: true };
  } catch (error) {
    throw new DatasetError(
      `${path}: starts like a gzip file but does not decompress (${(error as Error).message}); ` +
        'the download is probably incomplete: fetch the file again',
      { cause: error },
    );
  }
}
