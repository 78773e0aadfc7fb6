import type { TrainingJob } from '../../../core/runtime/trainer-plugin.ts';
import { defaultAugmentation, type AugmentOptions } from '../../datasets/augment.ts';
import { selectExamples, type Dataset, type DatasetFiles } from '../../datasets/dataset.ts';
import { channelStats } from '../../datasets/normalise.ts';
import { selectTrainingData } from '../../datasets/selection.ts';
import { childNetworkOptions } from '../network/child-network.ts';
import { buildNasnetPlan } from '../network/nasnet-plan.ts';
import { planTotals, type NetworkPlan } from '../network/plan.ts';
import type { TrainSettings } from '../training-settings.ts';
import { PROTOCOL_VERSION } from './protocol.ts';

/** What the program is told about the data: where the files are and which examples to use. */
export interface JobData {
  files: DatasetFiles;
  format: DatasetFiles['format'];
  imageShape: [number, number, number];
  classes: number;
  /** Indices into the training file(s): the examples to train on, in file order. */
  trainIndices: number[];
  /** Indices into the training file(s): the held-out examples the reward is measured on. */
  validationIndices: number[];
  /** Per-channel mean and standard deviation of the training examples, pixels scaled to [0, 1]. */
  mean: number[];
  std: number[];
  augment: AugmentOptions | false;
}

/** The `job` of the line the runtime writes: the TrainingJob, resolved for a program that knows nothing else. */
export interface JobMessage {
  experimentId: string;
  sampleId: string;
  attempt: number;
  genotype: TrainingJob['genotype'];
  epochs: number;
  seed: number;
  dataSeed: number;
  settings: TrainSettings;
  plan: NetworkPlan;
  /** Trainable parameters and multiply-adds of the network at inference (the auxiliary head not counted, as the paper counts). */
  params: number;
  multAdds: number;
  data: JobData;
}

/**
 * Everything a trainer in another process needs, decided here so that it trains the same
 * network on the same examples as the built-in trainer would: the network plan, the
 * validation split and training subset (as indices), the normalisation and augmentation.
 */
export function jobMessage(job: TrainingJob, dataset: Dataset, settings: TrainSettings): { protocol: number; job: JobMessage } {
  const dataSeed = settings.dataSeed ?? settings.seed;
  const selected = selectTrainingData(dataset.train, {
    validationFraction: settings.validationFraction,
    maxTrainExamples: settings.maxTrainExamples,
    seed: dataSeed,
  });
  const stats = channelStats(selectExamples(dataset.train, selected.train));
  const plan = buildNasnetPlan(childNetworkOptions(job, dataset, settings));
  const totals = planTotals(plan);
  return {
    protocol: PROTOCOL_VERSION,
    job: {
      experimentId: job.experimentId,
      sampleId: job.sampleId,
      attempt: job.attempt,
      genotype: job.genotype,
      epochs: settings.epochs,
      seed: settings.seed,
      dataSeed,
      settings,
      plan,
      params: totals.trainableParams,
      multAdds: totals.multAdds,
      data: {
        files: dataset.files,
        format: dataset.files.format,
        imageShape: [...dataset.imageShape],
        classes: dataset.classes,
        trainIndices: Array.from(selected.train),
        validationIndices: Array.from(selected.validation),
        mean: [...stats.mean],
        std: [...stats.std],
        augment: settings.augment ? defaultAugmentation(dataset) : false,
      },
    },
  };
}
