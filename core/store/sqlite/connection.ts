import sqlite3 from 'sqlite3';

export type SqlValue = string | number | bigint | null | Buffer;

/** A promise-shaped view of one sqlite3 connection. */
export class SqliteConnection {
  /** Parsing a 1000-row INSERT costs more than running it: statements are kept by SQL text. */
  private readonly statements = new Map<string, sqlite3.Statement>();

  private constructor(
    private readonly db: sqlite3.Database,
    /** The file it was opened on (':memory:' or '' for a private database). */
    readonly path: string,
  ) {}

  static open(path: string, mode: number = sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE): Promise<SqliteConnection> {
    return new Promise((resolve, reject) => {
      const db = new sqlite3.Database(path, mode, (error) => (error ? reject(error) : resolve(new SqliteConnection(db, path))));
    });
  }

  /** Another connection to the same file, read only; this one again for a private database. */
  async reader(): Promise<{ connection: SqliteConnection; close(): Promise<void> }> {
    if (this.path === '' || this.path === ':memory:') return { connection: this, close: async () => undefined };
    const connection = await SqliteConnection.open(this.path, sqlite3.OPEN_READONLY);
    return { connection, close: () => connection.close() };
  }

  busyTimeout(ms: number): void {
    this.db.configure('busyTimeout', ms);
  }

  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.db.exec(sql, (error) => (error ? reject(error) : resolve())));
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<{ lastID: number; changes: number }> {
    return new Promise((resolve, reject) =>
      this.db.run(sql, params, function (this: sqlite3.RunResult, error: Error | null) {
        if (error) reject(error);
        else resolve({ lastID: this.lastID, changes: this.changes });
      }),
    );
  }

  all<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return new Promise((resolve, reject) =>
      this.db.all<Row>(sql, params, (error, rows) => (error ? reject(error) : resolve(rows))),
    );
  }

  get<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    return new Promise((resolve, reject) =>
      this.db.get<Row>(sql, params, (error, row) => (error ? reject(error) : resolve(row))),
    );
  }

  /** Like all(), through a statement prepared once per SQL text. */
  allPrepared<Row>(sql: string, params: readonly SqlValue[]): Promise<Row[]> {
    let statement = this.statements.get(sql);
    if (!statement) {
      if (this.statements.size >= 32) this.finalizeStatements();
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return new Promise((resolve, reject) => statement.all<Row>(params, (error, rows) => (error ? reject(error) : resolve(rows))));
  }

  close(): Promise<void> {
    this.finalizeStatements();
    return new Promise((resolve, reject) => this.db.close((error) => (error ? reject(error) : resolve())));
  }

  private finalizeStatements(): void {
    for (const statement of this.statements.values()) statement.finalize();
    this.statements.clear();
  }
}

export function isSqliteError(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
