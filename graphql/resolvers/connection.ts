/** A Relay-style connection; pages only go forward, so there is never a previous page. */
export interface Connection<T> {
  edges: Array<{ node: T; cursor: string }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null; hasPreviousPage: boolean; startCursor: string | null };
}

export function connection<T>(
  edges: Array<{ node: T; cursor: string }>,
  hasNextPage: boolean,
  endCursor: string | null = edges[edges.length - 1]?.cursor ?? null,
): Connection<T> {
  return { edges, pageInfo: { hasNextPage, endCursor, hasPreviousPage: false, startCursor: edges[0]?.cursor ?? null } };
}
