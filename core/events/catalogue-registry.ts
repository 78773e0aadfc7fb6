import type { TSchema } from 'typebox';
import { EVENT_SCHEMAS } from './catalogue.ts';
import type { JsonObject } from './json.ts';

/**
 * Moves one event type's data from `fromVersion` to `fromVersion + 1`. Stored events
 * are never rewritten; readers see the current shape because every read upcasts.
 */
export interface Upcaster {
  type: string;
  fromVersion: number;
  upcast(data: JsonObject): JsonObject;
}

export interface EventSchema {
  version: number;
  data: TSchema;
}

/** The schemas a store validates writes against and the upcasters it applies on reads. */
export interface EventCatalogue {
  schemas: Readonly<Record<string, EventSchema>>;
  upcasters: readonly Upcaster[];
}

/** No event has changed shape yet; the first schema change adds its upcaster here. */
export const NASNET_UPCASTERS: readonly Upcaster[] = [];

export const NASNET_CATALOGUE: EventCatalogue = { schemas: EVENT_SCHEMAS, upcasters: NASNET_UPCASTERS };
