import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResponseCache } from '../response-cache.ts';

/**
 * Whether a request may be answered from stored response bytes: POST /graphql with a JSON
 * body of a declared length within the size limit, not asking for a stream, from an
 * allowed Host. Anything else goes to yoga untouched (and yoga refuses it as it should:
 * 403 for the Host, 413 for the size, including bodies without Content-Length).
 */
export function fastPathCandidate(request: IncomingMessage, maxBytes: number, hostAllowed: (host: string) => boolean): boolean {
  if (request.method !== 'POST' || request.url !== '/graphql') return false;
  const { 'content-type': type, 'content-length': length, accept } = request.headers;
  if (!type || !/^application\/json\s*(;|$)/i.test(type)) return false;
  if (accept && /text\/event-stream|multipart\//i.test(accept)) return false;
  const declared = length === undefined ? Number.NaN : Number(length);
  if (!Number.isSafeInteger(declared) || declared <= 0 || declared > maxBytes) return false;
  return hostAllowed(request.headers.host ?? '');
}

/** Reads the body, answers from the cache on a hit, else hands the request with its body to yoga (`toYoga`). */
export async function answerFromCache(
  cache: ResponseCache,
  request: IncomingMessage,
  response: ServerResponse,
  toYoga: () => void,
): Promise<void> {
  let body: Buffer;
  try {
    body = await readBody(request);
  } catch {
    // The client went away mid-body: nothing to answer.
    response.destroy();
    return;
  }
  try {
    const key = cache.keyFor(request, body);
    if (await cache.answer(key, request, response)) return;
  } catch {
    // The cache is an optimization: on any failure, yoga answers.
  }
  // The stream is consumed; @whatwg-node/server takes an already-read body from `request.body`.
  Object.assign(request, { body });
  toYoga();
}

export function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    request.once('error', reject);
    request.once('close', () => {
      if (!request.complete) reject(new Error('request aborted'));
    });
  });
}
