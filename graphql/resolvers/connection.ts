/** A Relay-style connection. */
export interface Connection<T> {
  edges: Array<{ node: T; cursor: string }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null; hasPreviousPage: boolean; startCursor: string | null };
}

export interface PageFlags {
  hasNextPage: boolean;
  /** Default false: a connection that pages forwards only. */
  hasPreviousPage?: boolean;
  /** Default: the last edge's cursor (null for an empty page). */
  endCursor?: string | null;
}

export function connection<T>(edges: Array<{ node: T; cursor: string }>, flags: PageFlags): Connection<T> {
  return {
    edges,
    pageInfo: {
      hasNextPage: flags.hasNextPage,
      hasPreviousPage: flags.hasPreviousPage ?? false,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: flags.endCursor !== undefined ? flags.endCursor : (edges[edges.length - 1]?.cursor ?? null),
    },
  };
}
