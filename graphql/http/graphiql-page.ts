import type { GraphiQLOptions } from 'graphql-yoga';
import { graphiqlAssetUrl } from './graphiql-assets.ts';

/** Monaco's web workers by the label Monaco asks for; files of the package's dist/. */
const WORKERS: Readonly<Record<string, string>> = {
  editorWorkerService: graphiqlAssetUrl('monacoeditorwork/editor.worker.bundle.js'),
  json: graphiqlAssetUrl('monacoeditorwork/json.worker.bundle.js'),
  // Sic: the package names it with two dots.
  graphql: graphiqlAssetUrl('monacoeditorwork/graphql.worker..bundle.js'),
};

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** JSON that can stand inside a <script> element: no `</script>` or `<!--` can end or change it. */
const scriptJson = (value: unknown) =>
  JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

/**
 * yoga's `renderGraphiQL`: the page yoga would serve, with every file from this server
 * (graphiql-assets.ts) instead of unpkg.com, and no favicon to fetch, so it needs no network.
 * The workers are same-origin, so Monaco starts them from their URLs directly (yoga's page
 * downloads them into blobs first, which cross-origin workers need). The package's page
 * shows its welcome text instead of `defaultQuery` (it hands GraphiQL an initial query, which
 * wins), so `defaultQuery` is given as `query` too — unless the URL carries a query, where
 * GraphiQL keeps the editor's text across reloads.
 */
export function renderGraphiql(options: GraphiQLOptions): string {
  const title = escapeHtml(options.title ?? 'GraphiQL');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${escapeHtml(graphiqlAssetUrl('graphiql.css'))}">
</head>
<body id="body" class="no-focus-outline">
<noscript>GraphiQL needs JavaScript.</noscript>
<div id="root">Loading ${title}…</div>
<script>
const workers = ${scriptJson(WORKERS)};
self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_moduleId, label) => workers[label] ?? workers.editorWorkerService };
</script>
<script src="${escapeHtml(graphiqlAssetUrl('yoga-graphiql.umd.js'))}"></script>
<script>
const options = ${scriptJson(options)};
if (options.defaultQuery && !new URLSearchParams(location.search).has('query')) options.query = options.defaultQuery;
YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), options);
</script>
</body>
</html>
`;
}

/**
 * yoga's `graphiql` option, as a factory: yoga renders GraphiQL before any plugin of ours
 * runs, so the page is offered only where the API is served — exactly `endpoint`, and a Host
 * that the Host check lets through. Otherwise the request goes on to the plugins that refuse
 * it (the Host check's 403, the request guard's 404).
 */
export function graphiqlWhereServed(
  options: GraphiQLOptions,
  endpoint: string,
  hostAllowed: (host: string) => boolean,
): (request: Request) => GraphiQLOptions | false {
  return (request) => {
    const url = new URL(request.url);
    return url.pathname === endpoint && hostAllowed(url.host) ? options : false;
  };
}
