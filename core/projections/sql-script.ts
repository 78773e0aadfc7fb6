import type { SqlValue } from '../store/sqlite/connection.ts';

/**
 * A value as an SQL literal, so that a batch's rows run as one script (row-writes.ts): the
 * sqlite3 binding costs ~40 µs per call (a thread-pool round trip) while SQLite parses and
 * runs a row of a multi-row INSERT in a few µs. Strings are quoted (a NUL, which would end
 * the script's text, as a hex blob instead) and numbers written as exact binary fractions,
 * so a value stores exactly as it would through a bound parameter.
 */
export function literal(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'string') return stringLiteral(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`a SQL literal cannot be ${value}`);
    // The sqlite3 binding binds a number as an INTEGER only within 32 bits, any other as a REAL.
    return Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31 ? value.toFixed(0) : exactReal(value);
  }
  // (The sqlite3 binding binds a bigint as NULL; nothing here passes one, and a literal keeps its value.)
  if (typeof value === 'bigint') {
    if (value <= -(2n ** 63n) || value >= 2n ** 63n) throw new RangeError(`${value} does not fit an SQLite integer`);
    return value.toString();
  }
  return `X'${value.toString('hex')}'`;
}

/**
 * A non-integer double, exactly: SQLite's decimal parser is not correctly rounded (about one
 * shortest-form decimal in a thousand reads back one unit off), so no decimal is written.
 * The value is m × 2^e with m an integer below 2^53; SQLite converts m to a REAL exactly and
 * each multiplication or division by a power of two up to 2^62 is exact in binary floating point.
 */
function exactReal(value: number): string {
  let m = value;
  let e = 0;
  while (!Number.isInteger(m)) {
    m *= 2;
    e--;
  }
  while (Math.abs(m) > Number.MAX_SAFE_INTEGER) {
    m /= 2;
    e++;
  }
  let text = `CAST(${m.toFixed(0)} AS REAL)`;
  const operator = e < 0 ? '/' : '*';
  for (let left = Math.abs(e); left > 0; left -= 62) text = `(${text} ${operator} ${POWERS_OF_TWO[Math.min(left, 62)]})`;
  return text;
}

/** 2^0 … 2^62 as decimal text: a batch writes thousands of reals. */
const POWERS_OF_TWO = Array.from({ length: 63 }, (_, k) => (2n ** BigInt(k)).toString());

/**
 * SQL quotes, its one escape (a doubled quote) applied; a string with a NUL, which would end
 * the script's text inside SQLite, goes as a hex blob cast to text instead.
 */
function stringLiteral(value: string): string {
  if (value.includes('\u0000')) return `CAST(X'${Buffer.from(value, 'utf8').toString('hex')}' AS TEXT)`;
  return `'${value.replaceAll("'", "''")}'`;
}
