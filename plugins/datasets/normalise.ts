/**
 * Per-channel standardisation. The statistics come from the training split only: computing
 * them over validation or test examples would leak those examples into training.
 */
import { DatasetError, type Split } from './dataset.ts';

/** Mean and standard deviation of each channel, on pixels scaled to [0, 1]. */
export interface ChannelStats {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** Population mean and standard deviation of each channel of `split`, on the [0, 1] scale. */
export function channelStats(split: Split): ChannelStats {
  const c = split.imageShape[2];
  if (split.count === 0) throw new DatasetError('channelStats: the split has no examples');
  // Integer sums: exact in float64 up to 2^53, far beyond 255² × any dataset held in memory.
  const sum = new Array<number>(c).fill(0);
  const squares = new Array<number>(c).fill(0);
  const { images } = split;
  for (let i = 0; i < images.length; i += c) {
    for (let k = 0; k < c; k++) {
      const v = images[i + k]!;
      sum[k]! += v;
      squares[k]! += v * v;
    }
  }
  const n = images.length / c;
  const mean = sum.map((s) => s / n / 255);
  const std = squares.map((s, k) => Math.sqrt(Math.max(0, s / n / 65025 - mean[k]! ** 2)));
  return { mean, std };
}

/**
 * A 256-entry table per channel from pixel byte to float: (v/255 - mean)/std with `stats`,
 * v/255 without. A table lookup is cheaper than the arithmetic per pixel, and the same
 * table serves every batch. A constant channel (std 0) is only centred, not divided by 0.
 */
export function pixelTable(channels: number, stats: ChannelStats | false): Float32Array {
  if (stats && (stats.mean.length !== channels || stats.std.length !== channels)) {
    throw new DatasetError(
      `normalise: statistics for ${stats.mean.length} channel(s) given for images with ${channels} channel(s)`,
    );
  }
  const table = new Float32Array(256 * channels);
  for (let k = 0; k < channels; k++) {
    const mean = stats ? stats.mean[k]! : 0;
    const std = stats && stats.std[k]! > 0 ? stats.std[k]! : 1;
    for (let v = 0; v < 256; v++) table[v * channels + k] = (v / 255 - mean) / std;
  }
  return table;
}

/** Converts HWC bytes to floats through `table` (from pixelTable), into `out` at `outOffset`. */
export function toFloat(pixels: Uint8Array, channels: number, table: Float32Array, out: Float32Array, outOffset: number): void {
  for (let i = 0; i < pixels.length; i += channels) {
    for (let k = 0; k < channels; k++) out[outOffset + i + k] = table[pixels[i + k]! * channels + k]!;
  }
}
