/**
 * The little SQL surface that code running on both backends uses: `?` placeholders (rewritten to
 * `$n` for PostgreSQL), rows as plain objects, integers as numbers, binary columns as Buffers.
 */
export interface SqlClient {
  readonly dialect: 'sqlite' | 'postgresql'
  all<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>
  get<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T | undefined>
  run(sql: string, params?: unknown[]): Promise<{ changes: number }>
  /** Several statements, no parameters (DDL). */
  exec(sql: string): Promise<void>
  /** Runs `fn` in one transaction; nothing else on this connection interleaves with it. */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>
}

/** The column type of raw bytes: SQLite's BLOB is PostgreSQL's BYTEA (both come back as Buffers). */
export const blobType = (sql: Pick<SqlClient, 'dialect'>) => (sql.dialect === 'postgresql' ? 'BYTEA' : 'BLOB')
