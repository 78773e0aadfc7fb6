import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { parsePostgresAddress } from '../../core/store/address.ts';

/** The server the PostgreSQL tests run against; `.ci/run` sets it. */
export const PG_URL = process.env.NASNET_PG_URL;

export const NO_PG_SERVER = 'NASNET_PG_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test); .ci/run sets it';

/** A schema name no other run uses, so tests can share a database with anything. */
export function freshSchema(purpose: string): string {
  return `nasnet_${purpose}_${randomBytes(4).toString('hex')}`;
}

/** `url` with its tables in `schema`. */
export function inSchema(url: string, schema: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}schema=${schema}`;
}

/** A plain client on the server of `url`, outside any store. */
export async function adminClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: parsePostgresAddress(url).connectionString });
  await client.connect();
  return client;
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = await adminClient(url);
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}
