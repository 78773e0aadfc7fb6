import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WrongExpectedVersionError as EsdbWrongExpectedVersionError } from '@eventstore/db-client';
import fc from 'fast-check';
import { WrongExpectedVersionError } from '../../core/store/errors.ts';
import { toEsdbExpectedRevision, toWrongExpectedVersion } from '../../core/store/esdb/convert.ts';
import { decodePosition, encodePosition, toReadPosition } from '../../core/store/esdb/position.ts';
import { START } from '../../core/store/port.ts';

const MAX = (1n << 64n) - 1n;
const part = fc.bigInt({ min: 0n, max: MAX });
// Small values too, so equal commits (events of one transaction) come up often.
const small = fc.bigInt({ min: 0n, max: 3n });
const position = fc.record({ commit: fc.oneof(part, small), prepare: fc.oneof(part, small) });

test('encodes (commit, prepare) into one bigint and back', () => {
  assert.equal(encodePosition({ commit: 0n, prepare: 0n }), 0n);
  assert.equal(encodePosition({ commit: 1n, prepare: 0n }), 1n << 64n);
  assert.equal(encodePosition({ commit: 0n, prepare: 5n }), 5n);
  assert.deepEqual(decodePosition((7n << 64n) | 9n), { commit: 7n, prepare: 9n });
  const largest = { commit: MAX, prepare: MAX };
  assert.equal(encodePosition(largest), (1n << 128n) - 1n);
  assert.deepEqual(decodePosition(encodePosition(largest)), largest);
});

test('round-trips every 64-bit commit and prepare', () => {
  fc.assert(
    fc.property(position, ({ commit, prepare }) => {
      assert.deepEqual(decodePosition(encodePosition({ commit, prepare })), { commit, prepare });
    }),
  );
});

test('keeps the order of $all: by commit, then prepare', () => {
  const order = (a: { commit: bigint; prepare: bigint }, b: { commit: bigint; prepare: bigint }) =>
    a.commit === b.commit ? Math.sign(Number(a.prepare - b.prepare)) : Math.sign(Number(a.commit - b.commit));
  fc.assert(
    fc.property(position, position, (a, b) => {
      const ea = encodePosition(a);
      const eb = encodePosition(b);
      assert.equal(ea === eb ? 0 : ea < eb ? -1 : 1, order(a, b));
    }),
  );
  // a larger prepare never outweighs a larger commit
  assert.ok(encodePosition({ commit: 1n, prepare: 0n }) > encodePosition({ commit: 0n, prepare: MAX }));
});

test('refuses values that are not positions', () => {
  assert.throws(() => encodePosition({ commit: -1n, prepare: 0n }), RangeError);
  assert.throws(() => encodePosition({ commit: 0n, prepare: MAX + 1n }), RangeError);
  assert.throws(() => encodePosition({ commit: MAX + 1n, prepare: 0n }), RangeError);
  assert.throws(() => decodePosition(-1n), RangeError);
  assert.throws(() => decodePosition(1n << 128n), RangeError);
});

test('reads from the client START for the port START, else from the decoded position', () => {
  assert.equal(toReadPosition(START), 'start');
  assert.deepEqual(toReadPosition((3n << 64n) | 2n), { commit: 3n, prepare: 2n });
});

test('maps expected revisions to the client', () => {
  assert.equal(toEsdbExpectedRevision('no_stream'), 'no_stream');
  assert.equal(toEsdbExpectedRevision('any'), 'any');
  assert.equal(toEsdbExpectedRevision('stream_exists'), 'stream_exists');
  assert.equal(toEsdbExpectedRevision(0n), 0n);
  assert.equal(toEsdbExpectedRevision(41n), 41n);
});

test("maps the client's wrong-expected-version error to the port's", () => {
  const fromClient = new EsdbWrongExpectedVersionError(undefined, { streamName: 'experiment-a', expected: 3n, current: 5n });
  const error = toWrongExpectedVersion('experiment-a', 3n, fromClient.actualVersion);
  assert.ok(error instanceof WrongExpectedVersionError);
  assert.equal(error.stream, 'experiment-a');
  assert.equal(error.expected, 3n);
  assert.equal(error.actual, 5n);
  const missing = toWrongExpectedVersion('experiment-b', 'stream_exists', 'no_stream');
  assert.equal(missing.expected, 'stream_exists');
  assert.equal(missing.actual, 'no_stream');
});
