import { createExperiment, type CreateExperimentInput } from '../commands/create-experiment.ts';
import { resumeExperiment } from '../commands/resume-experiment.ts';
import { stopExperiment } from '../commands/stop-experiment.ts';
import type { GraphqlContext } from '../context.ts';

export const mutationResolvers = {
  stopExperiment: (_: unknown, { id }: { id: string }, context: GraphqlContext) => stopExperiment(context, id),
  createExperiment: (_: unknown, { input }: { input: CreateExperimentInput }, context: GraphqlContext) =>
    createExperiment(context, input),
  resumeExperiment: (_: unknown, { id }: { id: string }, context: GraphqlContext) => resumeExperiment(context, id),
};
