import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Command } from 'commander';
import { integer, nonNegativeNumber, positiveNumber, wholeNumber } from '../../cli/flags.ts';
import { resolveServeToken } from '../../cli/serve-token.ts';
import { storeOption, withStore, withStoreOnDemand } from '../../cli/store-access.ts';
import type { EventStore } from '../../core/store/port.ts';

const dir = await mkdtemp(join(tmpdir(), 'nasnet-flags-'));
after(() => rm(dir, { recursive: true, force: true }));

describe('flag parsers', () => {
  it('take the numbers they describe and name the flag and the value otherwise', () => {
    assert.equal(wholeNumber('--epochs', 1)('3'), 3);
    assert.throws(() => wholeNumber('--epochs', 1)('0'), /--epochs must be a whole number >= 1, got "0"/);
    assert.equal(integer('--seed')('-3'), -3);
    assert.throws(() => integer('--seed')('1.5'), /--seed must be a whole number, got "1.5"/);
    assert.equal(positiveNumber('--lr')('5e-2'), 0.05);
    assert.throws(() => positiveNumber('--lr')('0'), /--lr must be a number > 0, got "0"/);
    assert.throws(() => positiveNumber('--lr')('fast'), /--lr must be a number > 0, got "fast"/);
    assert.equal(nonNegativeNumber('--drop-path')('0'), 0);
    assert.throws(() => nonNegativeNumber('--drop-path')(''), /--drop-path must be a number >= 0, got ""/);
    assert.throws(() => nonNegativeNumber('--drop-path')('Infinity'), /--drop-path must be a number >= 0/);
  });
});

describe('store access', () => {
  it('--store defaults to the local SQLite file and says what an address looks like', () => {
    const option = storeOption('event store to record the transfer in');
    assert.equal(option.defaultValue, 'sqlite:.nasnet/nasnet.db');
    assert.equal(
      option.description,
      'event store to record the transfer in: sqlite:<path>, postgres://user@host/db[?schema=name] or esdb://host:port',
    );
    const program = new Command().addOption(storeOption()).parse(['--store', 'sqlite:x.db'], { from: 'user' });
    assert.equal(program.opts().store, 'sqlite:x.db');
  });

  it('withStore closes the store when the work fails', async () => {
    const used: EventStore[] = [];
    await assert.rejects(
      withStore(`sqlite:${join(dir, 'fails.db')}`, async (store) => {
        used.push(store);
        throw new Error('boom');
      }),
      /boom/,
    );
    await assert.rejects(used[0]!.headPosition(), /closed/);
  });

  it('withStoreOnDemand opens the store only when asked, once, and closes it', async () => {
    const untouched = join(dir, 'untouched.db');
    assert.equal(await withStoreOnDemand(`sqlite:${untouched}`, async () => 'checked'), 'checked');
    assert.equal(existsSync(untouched), false, 'no store file for work that never asked for it');

    const opened = await withStoreOnDemand(`sqlite:${join(dir, 'used.db')}`, async (open) => {
      const store = await open();
      assert.equal(await open(), store);
      assert.equal(await store.headPosition(), 0n);
      return store;
    });
    await assert.rejects(opened.headPosition(), /closed/);
  });
});

describe('the serve token', () => {
  it('comes from --token (with a warning that ps shows it), --token-file or $NASNET_TOKEN, in that order', async () => {
    const file = join(dir, 'token');
    await writeFile(file, 's3cret\nignored second line\n');
    assert.deepEqual(await resolveServeToken({ tokenFile: file, environment: 'env' }), { token: 's3cret' });
    assert.deepEqual(await resolveServeToken({ environment: 'env' }), { token: 'env' });
    assert.deepEqual(await resolveServeToken({ environment: '' }), {});
    const given = await resolveServeToken({ token: 'flag', environment: 'env' });
    assert.equal(given.token, 'flag');
    assert.match(given.warning!, /--token shows in `ps`.*NASNET_TOKEN/);
  });

  it('names the flag and the file when the token cannot be had', async () => {
    await assert.rejects(resolveServeToken({ token: 'a', tokenFile: 'b' }), /give --token or --token-file, not both/);
    await assert.rejects(resolveServeToken({ tokenFile: join(dir, 'none') }), /--token-file ".*none": cannot read it \(ENOENT\)/);
    const empty = join(dir, 'empty-token');
    await writeFile(empty, '\nsecond\n');
    await assert.rejects(resolveServeToken({ tokenFile: empty }), /--token-file ".*empty-token": its first line is empty/);
    await assert.rejects(resolveServeToken({ token: ' ' }), /--token must not be empty/);
  });
});
