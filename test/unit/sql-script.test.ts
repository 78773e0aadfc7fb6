import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { literal } from '../../core/projections/sql-script.ts';
import { SqliteConnection, type SqlValue } from '../../core/store/sqlite/connection.ts';

const db = await SqliteConnection.open(':memory:');
after(() => db.close());

const valueArbitrary: fc.Arbitrary<SqlValue> = fc.oneof(
  fc.constant(null),
  fc.string({ unit: 'binary' }),
  fc.constantFrom("it's", "'); DROP TABLE x; --", '?', 'a\u0000b', '', '🧬 cell'),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(0.1, 0.34, 1e-7, 2 ** 60, -(2 ** 53) - 2, 29905700533948210, 1.35532554540154e-12, Number.MIN_VALUE),
  // Integers past 32 bits, which the binding binds as REALs (-2486374632779459 once escaped the property).
  fc.constantFrom(2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, -2486374632779459, 2 ** 53 - 1),
  fc.maxSafeInteger(),
);

/** What SQLite stores for a value: its type and its value, read back. */
const stored = async (sql: string, params: SqlValue[]) =>
  (await db.all<{ t: string; v: unknown }>(`SELECT typeof(v) AS t, v FROM (SELECT ${sql} AS v)`, params))[0]!;

describe('SQL scripts', () => {
  it('write every value as a literal SQLite reads back exactly as the bound parameter', async () => {
    await fc.assert(
      fc.asyncProperty(valueArbitrary, async (value) => {
        const bound = await stored('?', [value]);
        const inlined = await stored(literal(value), []);
        // A bound JS integer past 2^53 is bound as a REAL too; the literal keeps it as exactly that double.
        assert.deepEqual(inlined, bound, `value ${String(value)} as ${literal(value)}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuse what SQLite cannot hold, and quote strings', () => {
    assert.throws(() => literal(Number.NaN), /cannot be NaN/);
    assert.equal(literal(2n ** 62n), '4611686018427387904');
    assert.equal(literal("it's ?"), "'it''s ?'");
    assert.equal(literal('a\u0000b'), "CAST(X'610062' AS TEXT)");
    assert.throws(() => literal(2n ** 63n), /does not fit an SQLite integer/);
  });
});
