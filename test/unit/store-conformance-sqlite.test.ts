import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { openSqliteStore } from '../../core/store/sqlite/sqlite-store.ts';
import { storeConformance } from '../support/store-conformance.ts';

const dir = await mkdtemp(join(tmpdir(), 'nasnet-conformance-'));
after(() => rm(dir, { recursive: true, force: true }));
const path = join(dir, 'events.db');

storeConformance('SQLite', {
  open: () => openSqliteStore(path),
  // A second connection on the same file sees the first one's appends only by polling,
  // as another process would.
  openSecond: () => openSqliteStore(path, { pollIntervalMs: 20 }),
});
