import { after, describe, it } from 'node:test';
import { parsePostgresAddress } from '../../core/store/address.ts';
import { openPostgresStore } from '../../core/store/postgres/postgres-store.ts';
import { dropSchema, freshSchema, inSchema, NO_PG_SERVER, PG_URL } from '../support/postgres.ts';
import { storeConformance } from '../support/store-conformance.ts';

const url = PG_URL;

if (url) {
  // A schema of its own, dropped afterwards: the suite may share a database with anything.
  const schema = freshSchema('conformance');
  const address = inSchema(url, schema);
  after(() => dropSchema(url, schema));
  storeConformance(`PostgreSQL at ${parsePostgresAddress(url).display}`, {
    open: () => openPostgresStore(address),
    openSecond: () => openPostgresStore(address),
  });
} else {
  describe('event store conformance: PostgreSQL', () => {
    it('runs against a live server', { skip: NO_PG_SERVER }, () => {});
  });
}
