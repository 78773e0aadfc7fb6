/** Class-balanced choice of examples, shared by the validation split and the mini-dataset builder. */
import { DatasetError } from './dataset.ts';
import { shuffleInPlace, type RandomGenerator } from './rng.ts';

/**
 * Splits `total` over classes in proportion to `counts` (largest remainder, ties to the lower
 * class), so the parts add up to exactly `total` and each class keeps its share of it.
 */
export function allocateProportionally(counts: readonly number[], total: number): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  if (n === 0) return counts.map(() => 0);
  const exact = counts.map((c) => (c * total) / n);
  const parts = exact.map(Math.floor);
  const byRemainder = exact.map((e, k) => ({ k, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.k - b.k);
  let left = total - parts.reduce((a, b) => a + b, 0);
  for (const { k } of byRemainder) {
    if (left === 0) break;
    if (parts[k]! < counts[k]!) {
      parts[k]! += 1;
      left--;
    }
  }
  return parts;
}

/** Indices of each class, in order. */
export function indicesByClass(labels: Uint8Array, classes: number): Uint32Array[] {
  const counts = new Array<number>(classes).fill(0);
  for (const label of labels) counts[label]!++;
  const out = counts.map((c) => new Uint32Array(c));
  const filled = new Array<number>(classes).fill(0);
  labels.forEach((label, i) => {
    out[label]![filled[label]!++] = i;
  });
  return out;
}

/**
 * Picks `take[k]` examples of class k at random; returns the picked and the other indices,
 * each in increasing order (so both keep the source's order, which a reader can check).
 * The picks for a class are a prefix of one shuffle of that class, so asking for more of a
 * class with the same generator state adds examples without swapping any out.
 */
export function stratifiedPick(
  labels: Uint8Array,
  take: readonly number[],
  rng: RandomGenerator,
): { picked: Uint32Array; rest: Uint32Array } {
  const byClass = indicesByClass(labels, take.length);
  const isPicked = new Uint8Array(labels.length);
  byClass.forEach((indices, k) => {
    if (take[k]! > indices.length)
      throw new DatasetError(`cannot pick ${take[k]} examples of class ${k}: there are only ${indices.length}`);
    const order = shuffleInPlace(Uint32Array.from(indices), rng);
    for (let i = 0; i < take[k]!; i++) isPicked[order[i]!] = 1;
  });
  const total = isPicked.reduce((a, b) => a + b, 0);
  const picked = new Uint32Array(total);
  const rest = new Uint32Array(labels.length - total);
  let p = 0;
  let r = 0;
  isPicked.forEach((flag, i) => {
    if (flag) picked[p++] = i;
    else rest[r++] = i;
  });
  return { picked, rest };
}
