/**
 * Rank agreement between two scorings of the same items. simple-statistics has Spearman's
 * rho but no Kendall tau, and no maintained npm package offers one.
 */
import { sampleRankCorrelation } from 'simple-statistics';

/**
 * Kendall's tau-b: (concordant − discordant) / sqrt((n0 − ties in x)(n0 − ties in y)), so
 * tied rewards (common with accuracies on a few hundred images) neither help nor hurt.
 * NaN when either side is constant.
 */
export function kendallTau(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new RangeError(`kendallTau: ${x.length} x values but ${y.length} y values`);
  let concordant = 0;
  let discordant = 0;
  let tiesX = 0;
  let tiesY = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const dx = Math.sign(x[i]! - x[j]!);
      const dy = Math.sign(y[i]! - y[j]!);
      if (dx === 0) tiesX++;
      if (dy === 0) tiesY++;
      if (dx * dy > 0) concordant++;
      else if (dx * dy < 0) discordant++;
    }
  }
  const pairs = (x.length * (x.length - 1)) / 2;
  return (concordant - discordant) / Math.sqrt((pairs - tiesX) * (pairs - tiesY));
}

/** Spearman's rho (Pearson correlation of the ranks, ties averaged). */
export function spearman(x: readonly number[], y: readonly number[]): number {
  return sampleRankCorrelation([...x], [...y]);
}
