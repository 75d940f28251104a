import { createDatabase, type Database } from 'db0'
import sqliteConnector from 'db0/connectors/better-sqlite3'
import type BetterSqlite3 from 'better-sqlite3'

export interface GatewayDatabase {
  /** db0 handle for ordinary queries. */
  db: Database
  /** The underlying better-sqlite3 connection, for prepared statements and transactions on hot paths. */
  sqlite: BetterSqlite3.Database
  close(): Promise<void>
}

/**
 * The gateway's durable state lives in SQLite on the gateway's LOCAL disk (never on NFS: SQLite
 * locking over NFS is unreliable). WAL + synchronous=NORMAL survives a SIGKILL of the process
 * (the WAL is in the OS page cache); only a power loss can drop the last transactions.
 */
export async function createGatewayDatabase(path: string): Promise<GatewayDatabase> {
  const db = createDatabase(sqliteConnector(path === ':memory:' ? { name: ':memory:' } : { path }))
  const sqlite = (await db.getInstance()) as BetterSqlite3.Database
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = NORMAL')
  sqlite.pragma('busy_timeout = 5000')
  sqlite.pragma('foreign_keys = ON')
  return {
    db,
    sqlite,
    close: async () => {
      await db.dispose()
    },
  }
}
