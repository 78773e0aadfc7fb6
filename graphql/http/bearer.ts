import { createHash, timingSafeEqual } from 'node:crypto';

/** Whether requests carry the bearer token a server was started with. */
export interface BearerCheck {
  /** Whether there is a token at all (without one, mutations are off). */
  readonly configured: boolean;
  /** Whether an Authorization header value names the token. */
  authorized(header: string | null): boolean;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Compares digests in constant time, so response times say nothing about the token. */
function bearerMatches(header: string | null, expected: Buffer): boolean {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match !== null && timingSafeEqual(digest(match[1]!), expected);
}

export function bearerCheck(token: string | undefined): BearerCheck {
  const tokenDigest = token ? digest(token) : null;
  return {
    configured: tokenDigest !== null,
    authorized: (header) => tokenDigest !== null && bearerMatches(header, tokenDigest),
  };
}
