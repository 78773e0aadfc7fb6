import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { OPS, type Block, type Genotype, type Op } from '../../core/search-space/genotype.ts';
import { NASNET_A } from '../../core/search-space/nasnet-a.ts';
import { buildNasnetPlan, type NetworkOptions } from '../../plugins/trainers/network/nasnet-plan.ts';
import type { NetworkPlan } from '../../plugins/trainers/network/plan.ts';
import { NetworkModel } from '../../plugins/trainers/tfjs/network-model.ts';
import { webgpuForTests } from '../support/webgpu.ts';

/**
 * The webgpu backend against tfjs's pure-JS cpu backend, on whole child networks: one network
 * per operation of the search space (every block of both cells uses it, so it runs at stride
 * 1 and 2, joined by add and by concat), each with the small stem, factorized reductions,
 * batch norm in training and inference mode, drop-path, the auxiliary head and the dense head;
 * then NASNet-A on the ImageNet stem. Compared: logits of both heads, the inference logits,
 * and the gradient of the loss for every trainable variable.
 *
 * Tolerance: |webgpu − cpu| ≤ TOLERANCE · (1 + max |cpu|) per tensor. Both compute in float32
 * but sum in different orders (tiled matrix products, parallel reductions); after a dozen
 * batch-norm layers over 4 images those rounding differences grow to about 1e-5 of the
 * largest value (at most 1.5e-5 measured on lavapipe), so 2e-4 leaves room without hiding a wrong kernel,
 * whose errors are of the order of the values themselves.
 */
const TOLERANCE = 2e-4;

const { runtime, skip } = await webgpuForTests();

function everyBlock(op: Op): Genotype {
  // inputs 0 and 1 at every block: each use of the op reads a cell input (stride 2 in a reduction cell)
  const cell = [0, 1, 2, 3, 4].map((k): Block => [op, k % 2, op, 1 - (k % 2), k === 1 ? 'concat' : 'add']) as Genotype['normal'];
  return { normal: cell, reduction: cell };
}

function planFor(genotype: Genotype, stem: NetworkOptions['stem']): NetworkPlan {
  const size = stem === 'small' ? 16 : 40;
  return buildNasnetPlan({
    genotype,
    N: 1,
    filters: 2,
    imageShape: [size, size, stem === 'small' ? 1 : 3],
    classes: 5,
    stem,
    stemFilters: 6,
    auxHead: true,
    dropPath: true,
  });
}

type Named = Array<[string, Float32Array]>;

/** Forward (training and inference) and every gradient of one network on one backend. */
async function run(backend: 'cpu' | 'webgpu', plan: NetworkPlan): Promise<Named> {
  await tf.setBackend(backend);
  const closeScope = runtime!.errorScope();
  const [h, w, c] = plan.nodes[plan.input]!.shape;
  const batch = 4;
  const model = new NetworkModel(tf, plan, 7);
  const variables = model.trainableVariables();
  const outputs = tf.tidy(() => {
    const x = tf.randomNormal([batch, h, w, c], 0, 1, 'float32', 3) as tf.Tensor4D;
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 5);
    const kept: tf.Tensor[] = [];
    const { grads } = tf.variableGrads(() => {
      const out = model.forward(x, { training: true, aux: true, seed: 11, dropProbability: (cell) => 0.2 + 0.1 * cell });
      kept.push(tf.keep(out.logits), tf.keep(out.auxLogits!));
      return tf.losses
        .softmaxCrossEntropy(labels, out.logits)
        .add(tf.losses.softmaxCrossEntropy(labels, out.auxLogits!).mul(0.4)) as tf.Scalar;
    }, variables);
    const inference = model.forward(x, { training: false }).logits;
    return [...kept, inference, ...variables.map((v) => grads[v.name]!)];
  });
  const names = ['logits', 'aux logits', 'inference logits', ...variables.map((_, i) => `gradient of variable ${i}`)];
  const values = await Promise.all(outputs.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(outputs);
  model.dispose();
  assert.equal(await closeScope(), null, `the device reported no error on ${backend}`);
  return values.map((v, i) => [names[i]!, v]);
}

function assertClose(actual: Named, expected: Named, label: string): number {
  let worst = 0;
  assert.equal(actual.length, expected.length);
  expected.forEach(([name, want], t) => {
    const got = actual[t]![1];
    let scale = 1;
    for (const v of want) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < want.length; i++) {
      const error = Math.abs(got[i]! - want[i]!) / scale;
      worst = Math.max(worst, error);
      if (!(error <= TOLERANCE))
        assert.fail(`${label}, ${name}: element ${i} is ${got[i]} on webgpu, ${want[i]} on cpu (scale ${scale})`);
    }
  });
  return worst;
}

async function compare(plan: NetworkPlan, label: string, report: (message: string) => void): Promise<void> {
  const expected = await run('cpu', plan);
  const actual = await run('webgpu', plan);
  report(`largest difference: ${assertClose(actual, expected, label).toExponential(1)} of the largest value`);
}

describe('webgpu backend: forward and gradient parity with the cpu backend', { skip }, () => {
  for (const op of OPS) {
    it(`${op}: both cells, small stem, factorized reduction, batch norm, drop-path, both heads`, async (t) => {
      await compare(planFor(everyBlock(op), 'small'), op, (m) => t.diagnostic(m));
    });
  }

  it('NASNet-A on the ImageNet stem (two stem reduction cells)', async (t) => {
    await compare(planFor(NASNET_A, 'imagenet'), 'imagenet stem', (m) => t.diagnostic(m));
  });

  it('reports a kernel the GPU rejects, instead of returning its garbage', async () => {
    await tf.setBackend('webgpu');
    const closeScope = runtime!.errorScope();
    // 12 inputs: more storage buffers than WebGPU guarantees a shader (8)
    const inputs = Array.from({ length: 12 }, (_, i) => tf.fill([3], i));
    const sum = tf.addN(inputs);
    await sum.data();
    assert.match((await closeScope()) ?? 'no error', /storage buffers/);
    tf.dispose([...inputs, sum]);
  });
});
