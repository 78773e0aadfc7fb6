-- The event log on PostgreSQL, in the schema the store address names (default `nasnet`).
-- `position` is the global position. Identity values are not commit order in general (a
-- transaction that took a lower value may commit later), so every append holds one
-- transaction-scoped advisory lock from before it takes positions until after its commit
-- is visible: positions are then taken and made visible in the same order, and a reader
-- that has seen position p has seen every position below it (postgres-store.ts, append).
-- `data` and `metadata` are `json`, not `jsonb`: the text is kept as written, key order included.
CREATE TABLE events (
  position bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  stream   text    NOT NULL,
  revision bigint  NOT NULL,
  id       text    NOT NULL,
  type     text    NOT NULL,
  version  integer NOT NULL,
  data     json    NOT NULL,
  metadata json    NOT NULL,
  -- Serves stream reads, and makes a lost race fail instead of forking a stream.
  UNIQUE (stream, revision)
);

-- Each stream's last revision: an append reads its expectation here under the log's lock.
CREATE TABLE streams (
  stream   text   PRIMARY KEY,
  revision bigint NOT NULL
);
