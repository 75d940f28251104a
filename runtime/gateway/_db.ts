import { createDatabase, type Database } from 'db0'
import sqliteConnector from 'db0/connectors/better-sqlite3'
import type BetterSqlite3 from 'better-sqlite3'
import type { PostgresGatewayDatabase } from './_db-postgres.ts'
import type { DbSync } from './_options.ts'
import type { SqlClient } from './_sql.ts'
import { startWalCheckpointer, type WalCheckpointer } from './_wal-checkpoint.ts'
import { createWalSync, type WalSync } from './_wal-sync.ts'

export type { SqlClient } from './_sql.ts'
export type { PostgresGatewayDatabase } from './_db-postgres.ts'

export interface SqliteGatewayDatabase {
  dialect: 'sqlite'
  /** db0 handle for ordinary queries. */
  db: Database
  /** The underlying better-sqlite3 connection, for prepared statements and transactions on hot paths. */
  sqlite: BetterSqlite3.Database
  /** Dialect-neutral async queries (`?` placeholders) for code that runs on both backends. */
  sql: SqlClient
  /** Where the data lives, for logs (never a password). */
  describe: string
  /**
   * KTRDR_DB_SYNC=full on a file: the connection runs synchronous=FULL, and the hot-path writers
   * (the operation store's group commits) commit with NORMAL and await this group fsync of the WAL
   * instead, off the event loop (see _wal-sync.ts). null otherwise.
   */
  walSync: WalSync | null
  /** Runs the WAL's checkpoints on a worker thread (see _wal-checkpoint.ts); null in memory or when it cannot start. */
  checkpointer: WalCheckpointer | null
  close(): Promise<void>
}

/** SQLite (embedded default) or PostgreSQL (KTRDR_DATABASE_URL), see docs/decisions.md. */
export type GatewayDatabase = SqliteGatewayDatabase | PostgresGatewayDatabase

/**
 * The gateway's durable state lives in SQLite on the gateway's LOCAL disk (never on NFS: SQLite
 * locking over NFS is unreliable). WAL + synchronous=NORMAL (the default) survives a SIGKILL of the
 * process (the WAL is in the OS page cache); only a power loss can drop the last transactions.
 * `sync: 'full'` fsyncs the WAL at every commit, so a power loss cannot drop them either.
 */
export async function createGatewayDatabase(path: string, { sync }: { sync?: DbSync | null } = {}): Promise<SqliteGatewayDatabase> {
  const db = createDatabase(sqliteConnector(path === ':memory:' ? { name: ':memory:' } : { path }))
  const sqlite = (await db.getInstance()) as BetterSqlite3.Database
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`)
  sqlite.pragma('busy_timeout = 5000')
  sqlite.pragma('foreign_keys = ON')
  const walSync = sync === 'full' && path !== ':memory:' ? createWalSync(`${path}-wal`) : null
  const checkpointer =
    path === ':memory:'
      ? null
      : startWalCheckpointer(sqlite, path, {
          sync,
          onError: (error) => process.emitWarning(`${error.message}; SQLite checkpoints on the gateway's thread again`, 'KtrdrWarning'),
        })
  return {
    dialect: 'sqlite',
    db,
    sqlite,
    sql: createSqliteClient(sqlite),
    describe: path,
    walSync,
    checkpointer,
    close: async () => {
      await checkpointer?.close()
      walSync?.close()
      await db.dispose()
    },
  }
}

/** The gateway's database from its options: PostgreSQL when a URL is given, else the SQLite file. */
export async function openGatewayDatabase(options: {
  databaseUrl: string | null
  dbPath: string
  dbSync?: DbSync | null
}): Promise<GatewayDatabase> {
  if (options.databaseUrl) {
    const { createPostgresDatabase } = await import('./_db-postgres.ts')
    return createPostgresDatabase(options.databaseUrl, { sync: options.dbSync })
  }
  return createGatewayDatabase(options.dbPath, { sync: options.dbSync })
}

/**
 * SqlClient over better-sqlite3: statements prepared once per SQL text; every call is synchronous
 * underneath, so a transaction whose callback only awaits these calls runs to its COMMIT within
 * microtasks. Transactions queue behind each other: a second BEGIN on the connection while one is
 * open would fail.
 */
function createSqliteClient(sqlite: BetterSqlite3.Database): SqlClient {
  const cache = new Map<string, BetterSqlite3.Statement>()
  const stmt = (sql: string) => {
    let s = cache.get(sql)
    if (!s) cache.set(sql, (s = sqlite.prepare(sql)))
    return s
  }
  let tail: Promise<unknown> = Promise.resolve()
  const client: SqlClient = {
    dialect: 'sqlite',
    async all<T>(sql: string, params: unknown[] = []) {
      return stmt(sql).all(...params) as T[]
    },
    async get<T>(sql: string, params: unknown[] = []) {
      return stmt(sql).get(...params) as T | undefined
    },
    async run(sql: string, params: unknown[] = []) {
      return { changes: stmt(sql).run(...params).changes }
    },
    async exec(sql: string) {
      sqlite.exec(sql)
    },
    transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
      const run = async () => {
        sqlite.exec('BEGIN IMMEDIATE')
        try {
          const value = await fn(client)
          sqlite.exec('COMMIT')
          return value
        } catch (error) {
          if (sqlite.inTransaction) sqlite.exec('ROLLBACK')
          throw error
        }
      }
      const result = tail.then(run, run)
      tail = result.catch(() => {})
      return result
    },
  }
  return client
}
