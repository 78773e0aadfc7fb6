/**
 * Data augmentation on uint8 HWC images: random crop with zero padding, and an optional
 * horizontal flip. Padding is in pixel space before normalisation (as torchvision's
 * RandomCrop does), so padded pixels become (0 - mean)/std, the same as a black border.
 */
import { DatasetError, type ImageShape } from './dataset.ts';
import { below, type RandomGenerator } from './rng.ts';

export interface AugmentOptions {
  /** Pixels of zero padding on each side before cropping back to the original size; 0 for no crop. */
  readonly padding: number;
  /**
   * Mirror left-right with probability 1/2. Right for natural images (CIFAR-10); wrong where
   * the mirror image is another thing or another class (digits, text), so it is a choice.
   */
  readonly flip: boolean;
}

/** The usual choice: pad 4 and flip for CIFAR-10 (32×32); pad 2 and no flip otherwise (28×28 Fashion-MNIST / MNIST). */
export function defaultAugmentation(dataset: { name: string }): AugmentOptions {
  return /^cifar/i.test(dataset.name) ? { padding: 4, flip: true } : { padding: 2, flip: false };
}

/** One draw of the augmentation: crop offset in the padded image (0 … 2·padding each way) and flip. */
export interface Transform {
  readonly dy: number;
  readonly dx: number;
  readonly flip: boolean;
}

export function checkAugmentOptions(options: AugmentOptions, shape: ImageShape): void {
  if (!Number.isInteger(options.padding) || options.padding < 0) {
    throw new DatasetError(`augment: padding must be an integer >= 0 (got ${options.padding})`);
  }
  if (options.padding >= Math.min(shape[0], shape[1])) {
    throw new DatasetError(
      `augment: padding ${options.padding} is too large for ${shape[0]}×${shape[1]} images (a crop could hold no pixel of the image)`,
    );
  }
}

export function drawTransform(rng: RandomGenerator, options: AugmentOptions): Transform {
  const span = 2 * options.padding + 1;
  const dy = below(rng, span);
  const dx = below(rng, span);
  const flip = options.flip ? below(rng, 2) === 1 : false;
  return { dy, dx, flip };
}

/**
 * Writes `t` applied to one image (`src` at `srcOffset`) into `out` at `outOffset`:
 * out(y, x) = src(y + dy - p, x' + dx - p), x' = w-1-x when flipped, and 0 outside the image.
 * Cropping before flipping is torchvision's order (RandomCrop, then RandomHorizontalFlip).
 */
export function applyTransform(
  src: Uint8Array,
  srcOffset: number,
  shape: ImageShape,
  padding: number,
  t: Transform,
  out: Uint8Array,
  outOffset: number,
): void {
  const [h, w, c] = shape;
  for (let y = 0; y < h; y++) {
    const sy = y + t.dy - padding;
    const row = outOffset + y * w * c;
    if (sy < 0 || sy >= h) {
      out.fill(0, row, row + w * c);
      continue;
    }
    for (let x = 0; x < w; x++) {
      const sx = (t.flip ? w - 1 - x : x) + t.dx - padding;
      const o = row + x * c;
      if (sx < 0 || sx >= w) {
        for (let k = 0; k < c; k++) out[o + k] = 0;
      } else {
        const s = srcOffset + (sy * w + sx) * c;
        for (let k = 0; k < c; k++) out[o + k] = src[s + k]!;
      }
    }
  }
}

/** One image, augmented by a draw from `rng` (a convenience over drawTransform + applyTransform). */
export function augmentImage(image: Uint8Array, shape: ImageShape, options: AugmentOptions, rng: RandomGenerator): Uint8Array {
  checkAugmentOptions(options, shape);
  const out = new Uint8Array(image.length);
  applyTransform(image, 0, shape, options.padding, drawTransform(rng, options), out, 0);
  return out;
}
