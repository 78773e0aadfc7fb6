import type * as tfTypes from '@tensorflow/tfjs';
import type { Tf } from './tf-runtime.ts';

/**
 * WebGPU guarantees a shader 8 storage buffers, and tfjs's webgpu AddN binds every input
 * (plus the output) at once: a sum of more than 7 tensors fails validation there. Summing in
 * groups of 7 works on every backend and costs nothing elsewhere.
 */
const GROUP = 7;

/** The elementwise sum of `tensors` (at least one, all the same shape). */
export function sumTensors(tf: Tf, tensors: readonly tfTypes.Tensor[]): tfTypes.Tensor {
  if (tensors.length === 0) throw new RangeError('sumTensors needs at least one tensor');
  let level = [...tensors];
  while (level.length > 1) {
    const next: tfTypes.Tensor[] = [];
    for (let i = 0; i < level.length; i += GROUP) {
      const group = level.slice(i, i + GROUP);
      next.push(group.length === 1 ? group[0]! : tf.addN(group));
    }
    level = next;
  }
  return level[0]!;
}
