import type * as tfTypes from '@tensorflow/tfjs';
import type { Tf } from './tf-runtime.ts';
import type { TrainSettings } from '../training-settings.ts';

/** An optimizer whose learning rate the training loop sets before each step. */
export interface ScheduledOptimizer {
  optimizer: tfTypes.Optimizer;
  /** The rate for a step `progress` (0 … 1) of the way through the run. */
  schedule(progress: number): void;
}

/**
 * SGD with momentum (the paper) or Adam, with the learning rate constant or decayed to 0 by a
 * cosine. The decay matters for a short search-time training too: with a constant rate the
 * last steps keep moving the weights, so the reward depends on where the run happened to
 * stop more than on the cell.
 */
export function scheduledOptimizer(
  tf: Tf,
  settings: Pick<TrainSettings, 'optimizer' | 'learningRate' | 'momentum' | 'learningRateSchedule'>,
): ScheduledOptimizer {
  const { learningRate } = settings;
  const optimizer = settings.optimizer === 'sgd' ? tf.train.momentum(learningRate, settings.momentum) : adam(tf, learningRate);
  return {
    optimizer,
    schedule(progress) {
      if (settings.learningRateSchedule === 'constant') return;
      optimizer.setLearningRate(learningRate * 0.5 * (1 + Math.cos(Math.PI * progress)));
    },
  };
}

/** tfjs's Adam with the setter its SGD optimizers have (Adam reads the rate at every step). */
function adam(tf: Tf, learningRate: number): tfTypes.AdamOptimizer & { setLearningRate(rate: number): void } {
  class ScheduledAdam extends tf.AdamOptimizer {
    setLearningRate(rate: number): void {
      this.learningRate = rate;
    }
  }
  // tf.train.adam's defaults (epsilon: the backend's)
  return new ScheduledAdam(learningRate, 0.9, 0.999);
}
