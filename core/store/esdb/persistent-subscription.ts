import {
  PARK,
  PersistentSubscriptionExistsError,
  RETRY,
  START,
  eventTypeFilter,
  persistentSubscriptionToAllSettingsFromDefaults,
  type EventStoreDBClient,
  type PersistentSubscriptionToAllSettings,
} from '@eventstore/db-client';
import type { EventType } from '../../events/catalogue.ts';
import { NASNET_CATALOGUE, type EventCatalogue } from '../../events/catalogue-registry.ts';
import type { RecordedEvent } from '../../events/event.ts';
import { createEventReader } from './convert.ts';

/*
 * Competing consumers for trainer workers on many machines: the server hands each event of
 * the group to one connected worker at a time and redelivers it if that worker fails, so
 * trainers need no coordination of their own. Delivery is at least once: a handler must be
 * idempotent (e.g. claim the trial with an expected revision and skip a claimed one).
 */

export interface TrainerGroupOptions {
  /** Event types the group delivers. Default: ArchitectureSampled. */
  eventTypes?: readonly EventType[];
  /**
   * How long a worker may hold an event before the server gives it to another worker.
   * Default one hour: EventStoreDB's own default (30 s) is far shorter than training a
   * child, and would hand every sample to a second trainer mid-training. A worker that
   * disconnects has its events redelivered at once whatever this is.
   */
  messageTimeoutMs?: number;
  /**
   * Where a new group starts. Default START: a group created after the controller began
   * must not miss earlier samples. Ignored when the group exists already.
   */
  startFrom?: PersistentSubscriptionToAllSettings['startFrom'];
}

/** Creates the persistent subscription to $all for `group` unless it exists (its settings are then left as they are). */
export async function ensureTrainerGroup(
  client: EventStoreDBClient,
  group: string,
  options: TrainerGroupOptions = {},
): Promise<void> {
  const types: readonly EventType[] = options.eventTypes ?? ['ArchitectureSampled'];
  if (types.length === 0) throw new TypeError('ensureTrainerGroup needs at least one event type');
  try {
    await client.createPersistentSubscriptionToAll(
      group,
      persistentSubscriptionToAllSettingsFromDefaults({
        startFrom: options.startFrom ?? START,
        messageTimeout: options.messageTimeoutMs ?? 60 * 60 * 1000,
      }),
      // A regex, not prefixes: a prefix filter for `ArchitectureSampled` would also take any type that starts with it.
      { filter: eventTypeFilter({ regex: `^(${types.map(escapeRegex).join('|')})$` }) },
    );
  } catch (error) {
    if (!(error instanceof PersistentSubscriptionExistsError)) throw error;
  }
}

export interface ConsumeOptions {
  /** How many events the server may have in flight to this worker. Default 1: a trainer works on one child at a time. */
  bufferSize?: number;
  catalogue?: EventCatalogue;
}

export interface TrainerConsumer {
  /** Lets the event in hand finish (and be acked), then disconnects; unhandled buffered events go back to the group. */
  stop(): Promise<void>;
  /**
   * Settles when consumption ends: resolves after stop(), rejects when the server drops the
   * subscription (restart the worker then). Unobserved, a rejection is an unhandled one.
   */
  done: Promise<void>;
}

/**
 * Hands the group's events to `handler` one at a time: acks when it resolves, nacks with
 * `retry` (and the error as the reason) when it throws. An event this nasnet cannot read
 * (unknown type or schema version) is parked: retrying it elsewhere would fail the same way.
 */
export function consumeTrainerGroup(
  client: EventStoreDBClient,
  group: string,
  handler: (event: RecordedEvent) => Promise<void>,
  options: ConsumeOptions = {},
): TrainerConsumer {
  const read = createEventReader(options.catalogue ?? NASNET_CATALOGUE);
  const subscription = client.subscribeToPersistentSubscriptionToAll(group, { bufferSize: options.bufferSize ?? 1 });
  let stopping = false;
  let inHand: Promise<void> = Promise.resolve();

  const consume = async (): Promise<void> => {
    for await (const resolved of subscription) {
      if (stopping) return;
      inHand = (async () => {
        let event: RecordedEvent;
        try {
          if (!resolved.event) throw new Error('the server sent no event (a link to a deleted event?)');
          event = read(resolved.event);
        } catch (error) {
          return subscription.nack(PARK, reasonOf(error), resolved);
        }
        try {
          await handler(event);
        } catch (error) {
          return subscription.nack(RETRY, reasonOf(error), resolved);
        }
        return subscription.ack(resolved);
      })();
      await inHand;
    }
  };
  const done = consume().catch((error: unknown) => {
    // Stopping destroys the stream under the loop, which ends it with a premature-close error.
    if (!stopping) throw error;
  });

  return {
    done,
    async stop() {
      stopping = true;
      await inHand.catch(() => undefined);
      await subscription.unsubscribe();
      // Unsubscribing cancels the gRPC call but does not end the stream the loop waits on.
      subscription.destroy();
      await done.catch(() => undefined);
    },
  };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
