import type { EventMetadata } from './event.ts';

export function eventMetadata(
  correlationId: string,
  writerId: string,
  causationId: string | null = null,
  now: Date = new Date(),
): EventMetadata {
  return { timestamp: now.toISOString(), correlationId, causationId, writerId };
}
