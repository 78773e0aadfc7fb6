import type * as tfTypes from '@tensorflow/tfjs';
import type { Batch } from '../../datasets/batches.ts';
import type { NetworkModel } from './network-model.ts';
import type { Tf } from './tf-runtime.ts';

/**
 * Replaces batch norm's moving averages by the exact mean and variance of each batch-norm
 * input over the given images. After a few hundred steps the moving averages still lag the
 * weights, and evaluating with them measures that lag more than the architecture; one-shot
 * NAS benchmarks recalibrate the same way before they rank cells.
 *
 * The images go through the network as in training (each batch-norm layer normalises with
 * its batch's statistics), without gradients or drop-path; the weights are not touched.
 * Returns how many images were used.
 */
export function recalibrateBatchNorm(tf: Tf, model: NetworkModel, images: Iterable<Batch>, limit: number): number {
  const [h, w, c] = model.plan.nodes[model.plan.input]!.shape;
  const sums = new Map<number, { sum: tfTypes.Tensor; squares: tfTypes.Tensor }>();
  let count = 0;
  for (const batch of images) {
    const n = Math.min(batch.size, limit - count);
    if (n <= 0) break;
    tf.tidy(() => {
      const x = tf.tensor4d(batch.x.subarray(0, n * h * w * c), [n, h, w, c]);
      for (const { node, mean, variance } of model.forward(x, { training: true }).batchStats) {
        // n·mean and n·E[x²] add up across batches to the statistics of all the images
        const sum = mean.mul(n);
        const squares = variance.add(mean.square()).mul(n);
        const before = sums.get(node);
        sums.set(node, {
          sum: tf.keep(before ? before.sum.add(sum) : sum),
          squares: tf.keep(before ? before.squares.add(squares) : squares),
        });
        if (before) tf.dispose([before.sum, before.squares]);
      }
    });
    count += n;
  }
  if (count === 0) return 0;
  const statistics = [...sums].map(([node, { sum, squares }]) =>
    tf.tidy(() => {
      const mean = sum.div(count);
      return { node, mean, variance: tf.relu(squares.div(count).sub(mean.square())) };
    }),
  );
  model.setBatchNormStatistics(statistics);
  for (const s of [...sums.values()]) tf.dispose([s.sum, s.squares]);
  for (const s of statistics) tf.dispose([s.mean, s.variance]);
  return count;
}
