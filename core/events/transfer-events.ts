import type { EventData } from './catalogue.ts';
import type { EventMetadata, EventOfType } from './event.ts';
import { deterministicEventId } from './ids.ts';
import { newEvent } from './new-event.ts';

export type TransferEventType = 'TransferRequested' | 'TransferProgressed' | 'TransferCompleted' | 'TransferFailed';

/**
 * An event of a `transfer-<transferId>` stream. Its id is derived from the transfer, the type
 * and `idParts` (the epoch, for progress), so a retried append is stored once.
 */
export function transferEvent<T extends TransferEventType>(
  transferId: string,
  type: T,
  data: EventData<T>,
  metadata: EventMetadata,
  ...idParts: number[]
): EventOfType<T> {
  return newEvent(type, deterministicEventId(transferId, type, ...idParts), data, metadata);
}
