import type { Plugin } from 'graphql-yoga';

const normalizeHost = (name: string) => name.toLowerCase().replace(/^\[(.*)\]$/, '$1');

/** Whether a Host header (name and optional port) names one of `allowed`, as hostCheck judges it. */
export function hostMatcher(allowed: readonly string[]): (host: string) => boolean {
  const names = new Set(allowed.map(normalizeHost));
  return (host) => {
    try {
      return names.has(normalizeHost(new URL(`http://${host}/`).hostname));
    } catch {
      return false;
    }
  };
}

/** Answers 403 to a Host not in `allowed` (DNS rebinding: see GraphqlServerOptions.allowedHosts). */
export function hostCheck(allowed: readonly string[]): Plugin {
  const names = new Set(allowed.map(normalizeHost));
  return {
    onRequest({ url, endResponse, fetchAPI }) {
      const hostname = normalizeHost(url.hostname);
      if (!names.has(hostname))
        endResponse(
          new fetchAPI.Response(`host ${JSON.stringify(hostname.slice(0, 100))} is not served here\n`, {
            status: 403,
            headers: { 'content-type': 'text/plain; charset=utf-8' },
          }),
        );
    },
  };
}
