import type { Plugin } from 'graphql-yoga';

/** The header a script sends to run a POST that is not `application/json` (any value). */
export const CSRF_HEADER = 'x-nasnet-csrf';

/** Where GraphQL is served: yoga's endpoint (GET, POST; SSE in distinct connections mode) and graphql-sse's, both modes. */
export const ENDPOINT = '/graphql';
export const STREAM_ENDPOINT = '/graphql/stream';

/**
 * What a page on another site can make a browser send without asking this server first:
 * POSTs of `text/plain`, form and multipart bodies. Only JSON (or a request carrying
 * CSRF_HEADER, which browsers preflight and this server, having no CORS, refuses) is run, so
 * such a page cannot make a local server run queries, audits or mutations. GETs run queries
 * only (yoga and graphql-sse.ts refuse mutations over GET). GraphQL is served at exactly
 * ENDPOINT and STREAM_ENDPOINT; graphql-sse's PUT and DELETE at ENDPOINT get a 405 naming
 * STREAM_ENDPOINT, where single connection mode is served.
 */
export function requestGuard(): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      const refuse = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
        endResponse(
          new fetchAPI.Response(JSON.stringify({ errors: [{ message, extensions: { code } }] }), {
            status,
            headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
          }),
        );
      const path = url.pathname;
      for (const endpoint of [ENDPOINT, STREAM_ENDPOINT]) {
        if (path !== endpoint && path.endsWith(endpoint)) {
          const what = endpoint === ENDPOINT ? 'GraphQL' : "graphql-sse's protocol";
          return refuse(404, 'NOT_FOUND', `${what} is served at ${endpoint} only`);
        }
      }
      if (path === ENDPOINT && (request.method === 'PUT' || request.method === 'DELETE')) {
        // What graphql-sse's client sends in single connection mode when pointed at the wrong URL.
        return refuse(
          405,
          'METHOD_NOT_ALLOWED',
          `${request.method} ${ENDPOINT} is not served: GraphQL over SSE in single connection mode (graphql-sse) is at ${STREAM_ENDPOINT}`,
          { allow: 'GET, POST' },
        );
      }
      if ((path !== ENDPOINT && path !== STREAM_ENDPOINT) || request.method !== 'POST' || request.headers.has(CSRF_HEADER))
        return;
      const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json') {
        refuse(
          415,
          'CSRF_PREVENTED',
          `POST ${path} takes content-type application/json (got ${JSON.stringify(type.slice(0, 100))}); ` +
            `other bodies need the header ${CSRF_HEADER}, so that no other site's page can send them`,
        );
      }
    },
  };
}
