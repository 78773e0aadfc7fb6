import type { EventOfType, RecordedEvent } from '../events/event.ts';
import type { ReadModelView, RowPut, TransferRow } from './read-model-view.ts';
import { completedColumns, UNTRAINED_COLUMNS } from './shared-changes.ts';

/** The types written to transfer-<transferId> streams. */
export const TRANSFER_EVENT_TYPES = ['TransferRequested', 'TransferProgressed', 'TransferCompleted', 'TransferFailed'] as const;

export type TransferEvent = RecordedEvent<EventOfType<(typeof TRANSFER_EVENT_TYPES)[number]>>;

/** The rows a transfer-stream event writes: at most its transfer's one row. */
export function projectTransferEvent(view: ReadModelView, event: TransferEvent): RowPut[] {
  const at = event.metadata.timestamp;
  switch (event.type) {
    case 'TransferRequested': {
      const d = event.data;
      if (view.transfer(d.transferId)) return [];
      const row: TransferRow = {
        transfer_id: d.transferId,
        source: d.source,
        genotype: JSON.stringify(d.genotype),
        n: d.N,
        f: d.F,
        dataset: d.dataset,
        config: JSON.stringify(d.config),
        status: 'requested',
        requested_at: at,
        ...UNTRAINED_COLUMNS,
      };
      return [{ table: 'rm_transfers', row }];
    }
    case 'TransferProgressed': {
      const d = event.data;
      return changeTransfer(view, d.transferId, (t) => ({
        status: t.status === 'requested' ? 'training' : t.status,
        last_epoch: d.epoch,
        epochs: d.epochs,
      }));
    }
    case 'TransferCompleted':
      return changeTransfer(view, event.data.transferId, () => completedColumns(event.data, at));
    case 'TransferFailed': {
      const d = event.data;
      return changeTransfer(view, d.transferId, () => ({
        status: 'failed',
        error: d.reason,
        retryable: d.retryable ? 1 : 0,
        finished_at: at,
      }));
    }
  }
}

function changeTransfer(view: ReadModelView, transferId: string, change: (row: TransferRow) => Partial<TransferRow>): RowPut[] {
  const row = view.transfer(transferId);
  return row ? [{ table: 'rm_transfers', row: { ...row, ...change(row) } }] : [];
}
