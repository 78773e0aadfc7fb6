import { v4 as uuidv4, v5 as uuidv5 } from 'uuid';

/** Fixed namespace for nasnet's name-based (v5) event ids. Never change it: stored ids depend on it. */
const NASNET_NAMESPACE = '6f1c2a34-8e5b-5d0c-9a47-2b3e1f0d7c11';

/**
 * A deterministic event id from what identifies the event, e.g.
 * `deterministicEventId(experimentId, 'ArchitectureSampled', index)`. The same parts
 * always give the same UUID, so appending the same event twice stores it once.
 *
 * Include every part that distinguishes two legitimately different events: a trial
 * claim must include the worker id, or two workers racing for the same attempt would
 * produce the same id and the loser would mistake the winner's claim for its own.
 */
export function deterministicEventId(...parts: Array<string | number | bigint>): string {
  if (parts.length === 0) throw new TypeError('deterministicEventId needs at least one part');
  return uuidv5(parts.map((part) => String(part).replaceAll('/', '//')).join('/'), NASNET_NAMESPACE);
}

/** A random id, for events that are not deterministic (a person's command, a wall-clock timeout). */
export function randomEventId(): string {
  return uuidv4();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function isEventId(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}
