/**
 * Opaque page cursors: a row's sort key as base64url JSON. Clients treat them as strings;
 * the pages that make them check them back (order, shape) before using a value.
 */

/** A cursor that no page of this connection and order made. */
export class InvalidCursorError extends RangeError {
  constructor(
    readonly cursor: string,
    reason: string,
  ) {
    super(`invalid cursor ${JSON.stringify(cursor)}: ${reason}`);
    this.name = 'InvalidCursorError';
  }
}

export function encodeCursor(key: object): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The cursor's JSON object; anything else is an InvalidCursorError naming `what` it should have been. */
export function decodeCursor(text: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError(text, `not ${what}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidCursorError(text, `not ${what}`);
  return parsed as Record<string, unknown>;
}
