import type { GraphQLError } from 'graphql';
import type { RecordedEvent } from '../../core/events/event.ts';
import type { GraphqlContext } from '../context.ts';
import { toAsyncIterable, type ClosableAsyncIterator } from '../subscription.ts';
import { eventSelection, selects } from './event-log.ts';
import { badInput, position } from './input.ts';

/** The last item of a subscription that had to end: its resolver turns it into the client's error. */
class SubscriptionEnded {
  constructor(readonly error: GraphQLError) {}
}

interface EventsArgs {
  experimentId?: string | null;
  types?: string[] | null;
  after?: string | null;
}

async function subscribeToEvents(
  context: GraphqlContext,
  args: EventsArgs,
): Promise<ClosableAsyncIterator<RecordedEvent | SubscriptionEnded>> {
  const selection = eventSelection(context, args.experimentId, args.types);
  const { store, limits, subscriptions } = context.services;
  const from = args.after === null || args.after === undefined ? await store.headPosition() : position('after', args.after);
  const iterator: ClosableAsyncIterator<RecordedEvent | SubscriptionEnded> = toAsyncIterable(
    store.subscribe({ fromPosition: from, filter: selection.filter }),
    {
      keep: (event: RecordedEvent) => selects(selection, event),
      maxBuffered: limits.maxSubscriptionBacklog,
      overflow: (last) =>
        new SubscriptionEnded(
          badInput(
            `this subscription fell more than ${limits.maxSubscriptionBacklog} events behind the log and was ended; subscribe again with after: ${JSON.stringify((last?.position ?? from).toString())}`,
            'SUBSCRIPTION_BEHIND',
          ),
        ),
      onEnd: (): void => {
        subscriptions.delete(iterator);
      },
    },
  );
  subscriptions.add(iterator);
  return iterator;
}

export const subscriptionResolvers = {
  events: {
    subscribe: (_: unknown, args: EventsArgs, context: GraphqlContext) => subscribeToEvents(context, args),
    resolve: (payload: RecordedEvent | SubscriptionEnded) => {
      if (payload instanceof SubscriptionEnded) throw payload.error;
      return payload;
    },
  },
};
