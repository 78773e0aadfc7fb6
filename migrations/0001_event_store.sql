-- The event log. `position` is the global position: SQLite assigns max+1 inside the single
-- write transaction of an append, so positions follow commit order with no gap a reader
-- could ever observe. The unique (stream, revision) index serves stream reads and makes a
-- lost race fail instead of forking a stream.
CREATE TABLE events (
  position INTEGER PRIMARY KEY,
  stream   TEXT    NOT NULL,
  revision INTEGER NOT NULL,
  id       TEXT    NOT NULL,
  type     TEXT    NOT NULL,
  version  INTEGER NOT NULL,
  data     TEXT    NOT NULL,
  metadata TEXT    NOT NULL,
  UNIQUE (stream, revision)
);
-- No index on `id`: ids are hashes, so a global unique index would take random inserts
-- that touch about one index page per event and halve append throughput. Like
-- EventStoreDB, an id is checked where a retry can be recognised: at the revisions the
-- retried append expected to write (see sqlite-store.ts, findStoredAppend).

-- Each stream's last revision, kept by a trigger in the same statement as the insert. An
-- append reads its expected revision here: reading `events` itself from the INSERT …
-- SELECT that writes it would make SQLite copy the whole batch into a temporary table first.
CREATE TABLE streams (
  stream   TEXT    PRIMARY KEY,
  revision INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER events_keep_stream_revision AFTER INSERT ON events
BEGIN
  INSERT INTO streams (stream, revision) VALUES (NEW.stream, NEW.revision)
    ON CONFLICT (stream) DO UPDATE SET revision = excluded.revision;
END;
