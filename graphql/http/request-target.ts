import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Node hands over the request target as the client sent it. RFC 9112 allows the absolute
 * form (`POST http://host/graphql`), which yoga's adapter cannot parse (it answered 500 with
 * a stack trace): it is rewritten to the origin form, its authority becoming the Host the
 * Host check judges, as the RFC says. Anything else that is not a path (`*`, garbage) gets a
 * plain 400. Returns false when it answered.
 */
export function toOriginForm(request: IncomingMessage, response: ServerResponse): boolean {
  const target = request.url ?? '';
  if (target.startsWith('/')) return true;
  if (/^https?:\/\//i.test(target)) {
    try {
      const url = new URL(target);
      request.url = `${url.pathname}${url.search}`;
      request.headers.host = url.host;
      return true;
    } catch {
      // falls through to the 400
    }
  }
  response.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
  response.end('the request target must be a path (origin form) or an absolute http URL\n');
  return false;
}
