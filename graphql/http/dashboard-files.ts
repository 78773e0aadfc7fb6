import { readFile, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'graphql-yoga';
import { contentTypeOf } from './content-types.ts';

/** The dashboard shipped with nasnet (graphql/dashboard/). */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../dashboard/', import.meta.url));

const FALLBACK_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nasnet</title></head>
<body><h1>nasnet</h1><p>The dashboard is not installed here. The API is at <a href="/graphql">/graphql</a> (GraphiQL in a browser).</p></body></html>
`;

/** What a plugin's `fetchAPI` offers that these responses need. */
type FetchApi = { Response: typeof Response };

/**
 * Serves `/` (the dashboard's index.html) and `/dashboard/<file>` from one directory:
 * GET and HEAD only, no path outside the directory (`..`, encoded separators, NUL), no
 * dot-files, regular files only.
 */
export function dashboard(directory: string): Plugin {
  const root = resolve(directory);
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      const path = url.pathname;
      if (path !== '/' && path !== '/index.html' && !path.startsWith('/dashboard/')) return;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        endResponse(
          new fetchAPI.Response('method not allowed\n', {
            status: 405,
            headers: { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' },
          }),
        );
        return;
      }
      endResponse(await serveFile(fetchAPI, root, relativePath(path), request.method));
    },
  };
}

/** The file a dashboard path names, relative to the directory; null for a path that may name nothing served. */
function relativePath(path: string): string | null {
  if (path === '/' || path === '/index.html') return 'index.html';
  let relative: string;
  try {
    relative = decodeURIComponent(path.slice('/dashboard/'.length));
  } catch {
    return null;
  }
  const segments = relative.split('/');
  if (
    relative.length === 0 ||
    relative.includes('\0') ||
    relative.includes('\\') ||
    segments.some((s) => s === '' || s === '.' || s === '..' || s.startsWith('.'))
  )
    return null;
  return relative;
}

async function serveFile(fetchAPI: FetchApi, root: string, relative: string | null, method: string): Promise<Response> {
  const respond = (status: number, body: BodyInit | null, type: string) =>
    new fetchAPI.Response(method === 'HEAD' ? null : body, {
      status,
      headers: { 'content-type': type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' },
    });
  const notFound = () => respond(404, 'not found\n', 'text/plain; charset=utf-8');
  if (relative === null) return notFound();
  const file = resolve(root, ...relative.split('/'));
  // Belt and braces: no segment check above may let a path resolve outside the directory.
  if (!file.startsWith(root + sep)) return notFound();
  try {
    if (!(await stat(file)).isFile()) throw new Error('not a file');
    const body = await readFile(file);
    return respond(200, new Uint8Array(body), contentTypeOf(file));
  } catch {
    // Without an installed dashboard, `/` still points the way to the API.
    return relative === 'index.html' ? respond(200, FALLBACK_PAGE, 'text/html; charset=utf-8') : notFound();
  }
}
