import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { parsePostgresAddress } from '../../core/store/address.ts';
import { openPostgresStore } from '../../core/store/postgres/postgres-store.ts';
import { storeConformance } from '../support/store-conformance.ts';

const url = process.env.NASNET_PG_URL;

if (url) {
  // A schema of its own, dropped afterwards: the suite may share a database with anything.
  const schema = `nasnet_conformance_${randomBytes(4).toString('hex')}`;
  const address = `${url}${url.includes('?') ? '&' : '?'}schema=${schema}`;
  after(async () => {
    const client = new pg.Client({ connectionString: parsePostgresAddress(url).connectionString });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });
  storeConformance(`PostgreSQL at ${parsePostgresAddress(url).display}`, {
    open: () => openPostgresStore(address),
    openSecond: () => openPostgresStore(address),
  });
} else {
  describe('event store conformance: PostgreSQL', () => {
    it('runs against a live server', {
      skip: 'NASNET_PG_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test); .ci/run sets it',
    }, () => {});
  });
}
