/**
 * Events are stored as JSON. A payload that JSON cannot carry faithfully would be
 * silently changed on the way through (NaN becomes null, a Date becomes a string,
 * a bigint throws half-way through a batch), so it is refused before anything is
 * written.
 */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface JsonProblem {
  /** Dotted path from the payload root, e.g. `data.genotype.normal.0`. */
  path: string;
  reason: string;
  value: unknown;
}

/** Returns the first place where `value` would not survive `JSON.parse(JSON.stringify(value))`, or null. */
export function findJsonProblem(value: unknown, root = ''): JsonProblem | null {
  const keys: string[] = [];
  const problem = visit(value, keys, []);
  if (!problem) return null;
  // The path is built only for a problem found: on the hot path (valid events) no strings are made.
  const path = [root, ...keys.reverse()].filter((part) => part !== '').join('.');
  return { path, reason: problem.reason, value: problem.value };
}

interface Found {
  reason: string;
  value: unknown;
}

/** On a problem, pushes the keys from the problem up to `value` onto `keys` (innermost first). */
function visit(value: unknown, keys: string[], ancestors: object[]): Found | null {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(value) ? null : { reason: `${value} is not a JSON number`, value };
    case 'bigint':
      return { reason: 'bigint is not a JSON number (write it as a string)', value };
    case 'undefined':
      return { reason: 'undefined is not a JSON value', value };
    case 'object': {
      if (value === null) return null;
      if (ancestors.includes(value)) return { reason: 'the value refers to itself (a cycle)', value: '[cycle]' };
      if (Array.isArray(value)) {
        ancestors.push(value);
        for (let i = 0; i < value.length; i++) {
          const found = visit(value[i], keys, ancestors);
          if (found) {
            keys.push(String(i));
            return found;
          }
        }
        ancestors.pop();
        return null;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        const name = (proto?.constructor as { name?: string } | undefined)?.name ?? 'object';
        return { reason: `a ${name} is not a plain JSON object`, value };
      }
      ancestors.push(value);
      for (const key in value) {
        const child = (value as Record<string, unknown>)[key];
        // An absent optional field is written as `undefined` in TypeScript; JSON drops
        // the key, and reading it back gives the same absent field, so it is faithful.
        if (child === undefined) continue;
        const found = visit(child, keys, ancestors);
        if (found) {
          keys.push(key);
          return found;
        }
      }
      ancestors.pop();
      return null;
    }
    default:
      return { reason: `a ${typeof value} is not a JSON value`, value };
  }
}

/** A short, safe rendering of a bad value for error messages. */
export function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'number' || value === undefined) return String(value);
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
}
