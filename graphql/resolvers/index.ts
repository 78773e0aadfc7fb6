import { cellResolvers } from './cell.ts';
import { enumResolvers } from './enums.ts';
import { eventResolvers } from './event.ts';
import { experimentResolvers } from './experiment.ts';
import { mutationResolvers } from './mutation.ts';
import { policyUpdateResolvers } from './policy-update.ts';
import { queryResolvers } from './query.ts';
import { sampleResolvers } from './sample.ts';
import { JsonScalar } from './scalars.ts';
import { subscriptionResolvers } from './subscription.ts';
import { transferResolvers } from './transfer.ts';
import { trialResolvers } from './trial.ts';

/** The resolver map of graphql/schema.ts: one module per type; types not named here resolve by field name. */
export const resolvers = {
  JSON: JsonScalar,
  ...enumResolvers,
  Query: queryResolvers,
  Mutation: mutationResolvers,
  Subscription: subscriptionResolvers,
  Experiment: experimentResolvers,
  Sample: sampleResolvers,
  Cell: cellResolvers,
  Trial: trialResolvers,
  PolicyUpdate: policyUpdateResolvers,
  Event: eventResolvers,
  Transfer: transferResolvers,
};
