import type { Plugin } from 'graphql-yoga';

/** The header a script sends to run a POST that is not `application/json` (any value). */
export const CSRF_HEADER = 'x-nasnet-csrf';

const ENDPOINT = '/graphql';

/**
 * What a page on another site can make a browser send without asking this server first:
 * POSTs of `text/plain`, form and multipart bodies. Only JSON (or a request carrying
 * CSRF_HEADER, which browsers preflight and this server, having no CORS, refuses) is run, so
 * such a page cannot make a local server run queries, audits or mutations. GETs run queries
 * only (yoga refuses mutations over GET). GraphQL is served at exactly /graphql.
 */
export function requestGuard(): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      const refuse = (status: number, code: string, message: string) =>
        endResponse(
          new fetchAPI.Response(JSON.stringify({ errors: [{ message, extensions: { code } }] }), {
            status,
            headers: { 'content-type': 'application/json; charset=utf-8' },
          }),
        );
      if (url.pathname !== ENDPOINT && url.pathname.endsWith(ENDPOINT)) {
        return refuse(404, 'NOT_FOUND', `GraphQL is served at ${ENDPOINT} only`);
      }
      if (url.pathname !== ENDPOINT || request.method !== 'POST' || request.headers.has(CSRF_HEADER)) return;
      const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json') {
        refuse(
          415,
          'CSRF_PREVENTED',
          `POST ${ENDPOINT} takes content-type application/json (got ${JSON.stringify(type.slice(0, 100))}); ` +
            `other bodies need the header ${CSRF_HEADER}, so that no other site's page can send them`,
        );
      }
    },
  };
}
