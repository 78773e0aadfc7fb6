import { selectExamples, type Split } from './dataset.ts';
import { splitIndices } from './split.ts';

export interface SelectionOptions {
  /** Share of the training set held out for the reward. */
  validationFraction: number;
  /** A stratified subset of what is left to train on; 0 or more than there is: all of it. */
  maxTrainExamples: number;
  /** The experiment's data seed: every child gets the same examples. */
  seed: number;
}

/**
 * Which training-set examples a child trains on and which it is measured on, as indices into
 * the training set. Every trainer uses this one rule, in-process or in another language, so
 * rewards from different trainers are measured on the same examples.
 */
export function selectTrainingData(train: Split, options: SelectionOptions): { train: Uint32Array; validation: Uint32Array } {
  const held = splitIndices(train, { fraction: options.validationFraction, seed: options.seed });
  if (!(options.maxTrainExamples > 0 && options.maxTrainExamples < held.train.length)) return held;
  // a stratified subset, so a short run still sees every class in proportion
  const remaining = selectExamples(train, held.train);
  const subset = splitIndices(remaining, { count: options.maxTrainExamples, seed: options.seed + 1 }).validation;
  return { train: subset.map((i) => held.train[i]!), validation: held.validation };
}
