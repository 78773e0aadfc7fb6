import type { EventOfType, RecordedEvent } from '../events/event.ts';
import { sql, type RowChange, type RowValues } from './row-change.ts';
import { completedColumns } from './shared-changes.ts';

/** The types written to transfer-<transferId> streams. */
export const TRANSFER_EVENT_TYPES = ['TransferRequested', 'TransferProgressed', 'TransferCompleted', 'TransferFailed'] as const;

export type TransferEvent = RecordedEvent<EventOfType<(typeof TRANSFER_EVENT_TYPES)[number]>>;

/** The rows a transfer-stream event changes: always its transfer's one row. */
export function projectTransferEvent(event: TransferEvent): RowChange[] {
  const at = event.metadata.timestamp;
  switch (event.type) {
    case 'TransferRequested': {
      const d = event.data;
      return [
        {
          op: 'insert',
          table: 'rm_transfers',
          row: {
            transfer_id: d.transferId,
            source: d.source,
            genotype: JSON.stringify(d.genotype),
            n: d.N,
            f: d.F,
            dataset: d.dataset,
            config: JSON.stringify(d.config),
            status: 'requested',
            requested_at: at,
          },
        },
      ];
    }
    case 'TransferProgressed': {
      const d = event.data;
      const set = {
        status: sql("CASE WHEN status = 'requested' THEN 'training' ELSE status END"),
        last_epoch: d.epoch,
        epochs: d.epochs,
      };
      return [updateTransfer(d.transferId, set)];
    }
    case 'TransferCompleted':
      return [updateTransfer(event.data.transferId, completedColumns(event.data, at))];
    case 'TransferFailed': {
      const d = event.data;
      return [
        updateTransfer(d.transferId, { status: 'failed', error: d.reason, retryable: d.retryable ? 1 : 0, finished_at: at }),
      ];
    }
  }
}

function updateTransfer(transferId: string, set: RowValues<'rm_transfers'>): RowChange {
  return { op: 'update', table: 'rm_transfers', key: { transfer_id: transferId }, set };
}
