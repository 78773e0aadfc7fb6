import { dartsText } from '../../core/search-space/darts.ts';
import type { Sample } from '../../core/projections/queries.ts';
import type { GraphqlContext } from '../context.ts';
import type { CellParent } from './cell.ts';

/** The samples with these ids that exist, in the ids' order (through the request's loader). */
export async function loadSamples(context: GraphqlContext, ids: readonly string[]): Promise<Sample[]> {
  const samples = await context.loaders.sampleById.loadMany(ids);
  return samples.filter((sample): sample is Sample => sample !== null && !(sample instanceof Error));
}

export const sampleResolvers = {
  id: (sample: Sample) => sample.sampleId,
  normal: (sample: Sample): CellParent => ({ genotype: sample.genotype, cell: 'normal' }),
  reduction: (sample: Sample): CellParent => ({ genotype: sample.genotype, cell: 'reduction' }),
  darts: (sample: Sample) => dartsText(sample.genotype),
  reused: (sample: Sample) => sample.rewardSource === 'reused',
  trials: (sample: Sample, _: unknown, context: GraphqlContext) => context.loaders.trialsBySample.load(sample.sampleId),
};
