import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import type { Plugin } from 'graphql-yoga';
import { contentTypeOf } from './content-types.ts';

/** GraphiQL's files are served at `/graphiql/<path under the package's dist/>`. */
export const GRAPHIQL_PREFIX = '/graphiql/';

// yoga's own page loads these files from unpkg.com; serving the installed package's copy keeps GraphiQL working offline.
const PACKAGE_JSON = createRequire(import.meta.url).resolve('@graphql-yoga/graphiql/package.json');
const DIST = join(dirname(PACKAGE_JSON), 'dist');
const VERSION = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;

/**
 * The URL of a file of the package's dist/. The version in the query string makes the URL
 * change with the package, so the files can be cached for good.
 */
export function graphiqlAssetUrl(file: string): string {
  return `${GRAPHIQL_PREFIX}${file}?v=${encodeURIComponent(VERSION)}`;
}

/** The regular files under dist/, by their '/'-separated path there: the only names ever served. */
function distFiles(): ReadonlyMap<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(DIST, { recursive: true, withFileTypes: true })) {
    // Dirents come from lstat: a symbolic link is not a file here, so nothing outside dist/ is reachable.
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(DIST, path).split(sep).join('/'), path);
  }
  return files;
}

/**
 * Serves GET and HEAD `/graphiql/<file>` from @graphql-yoga/graphiql's dist/. A request names
 * a file by exact match against the list taken when the server starts: no path is ever built
 * from the request, so `..`, encoded separators and the like name nothing (404).
 */
export function graphiqlAssets(): Plugin {
  const files = distFiles();
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (!url.pathname.startsWith(GRAPHIQL_PREFIX)) return;
      const respond = (status: number, body: BodyInit | null, headers: Record<string, string>) =>
        endResponse(
          new fetchAPI.Response(request.method === 'HEAD' ? null : body, {
            status,
            headers: { 'x-content-type-options': 'nosniff', ...headers },
          }),
        );
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        respond(405, 'method not allowed\n', { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
        return;
      }
      const file = files.get(url.pathname.slice(GRAPHIQL_PREFIX.length));
      if (!file) {
        respond(404, 'not found\n', { 'content-type': 'text/plain; charset=utf-8' });
        return;
      }
      try {
        const body = new Uint8Array(await readFile(file));
        respond(200, body, { 'content-type': contentTypeOf(file), 'cache-control': 'public, max-age=31536000, immutable' });
      } catch {
        // Removed since the server started (a reinstall): as good as absent.
        respond(404, 'not found\n', { 'content-type': 'text/plain; charset=utf-8' });
      }
    },
  };
}
