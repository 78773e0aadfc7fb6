import { describe, it } from 'node:test';
import { openEsdbStore } from '../../core/store/esdb/esdb-store.ts';
import { storeConformance } from '../support/store-conformance.ts';

const url = process.env.NASNET_ESDB_URL;

if (url) {
  storeConformance(`EventStoreDB at ${url}`, {
    open: () => openEsdbStore(url),
    openSecond: () => openEsdbStore(url),
  });
} else {
  describe('event store conformance: EventStoreDB', () => {
    it('runs against a live server', {
      skip: 'NASNET_ESDB_URL is not set (e.g. esdb://localhost:2113?tls=false); no EventStoreDB server is reachable here',
    }, () => {});
  });
}
