import { createDatabase, type Database } from 'db0'
import postgresqlConnector from 'db0/connectors/postgresql'
import pg from 'pg'
import { KtrdrError } from '../protocol/index.ts'
import type { SqlClient } from './_sql.ts'
import { redactUrl } from './_db-url.ts'
import type { DbSync } from './_options.ts'

export interface PostgresGatewayDatabase {
  dialect: 'postgresql'
  db: Database
  /** The one pg connection every query of this gateway goes through, in order. */
  client: pg.Client
  /** `$n` placeholders, queued behind any running transaction. */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>
  sql: SqlClient
  /** Where the data lives, for logs (the password replaced). */
  describe: string
  url: string
  /** Called once if the connection breaks (server restart, network): the gateway must step down. */
  onLost(listener: (error: Error) => void): void
  close(): Promise<void>
}

/** int8 (COUNT, BIGINT columns) as numbers: our values stay far below 2^53 (event seqs are epoch ms). */
export const PG_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? Number : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
}

/** Server-side TCP keepalives: a gateway whose machine vanished (no FIN) loses its session, and with it its locks, in ≈5 s. */
export const PG_KEEPALIVE_OPTIONS = '-c tcp_keepalives_idle=2 -c tcp_keepalives_interval=1 -c tcp_keepalives_count=3'

/** `?` → `$n` (our SQL has no `?` inside literals). */
export function toDollarParams(sql: string): string {
  let n = 0
  return sql.includes('?') ? sql.replace(/\?/g, () => `$${++n}`) : sql
}

/**
 * PostgreSQL through db0's connector (one pg.Client). Queries run strictly in order on that one
 * connection (pg queues them anyway); a transaction holds the queue so no other statement lands
 * inside it. Hot-path writes are single statements (see _store-postgres.ts), so they need none.
 */
export async function createPostgresDatabase(url: string, { sync }: { sync?: DbSync | null } = {}): Promise<PostgresGatewayDatabase> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new KtrdrError({
      code: 'CONFIG_INVALID',
      message: `KTRDR_DATABASE_URL is not a URL: expected postgres://user:password@host:5432/database`,
    })
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new KtrdrError({
      code: 'CONFIG_INVALID',
      message: `KTRDR_DATABASE_URL must start with postgres:// (got ${parsed.protocol}//); leave it unset to use the SQLite file`,
    })
  }
  const db = createDatabase(
    postgresqlConnector({
      lib: pg,
      connectionString: url,
      keepAlive: true,
      keepAliveInitialDelayMillis: 2000,
      application_name: 'ktrdr-gateway',
      options: PG_KEEPALIVE_OPTIONS,
      types: PG_TYPES,
    } as pg.ClientConfig),
  )
  const client = (await db.getInstance()) as pg.Client
  // KTRDR_DB_SYNC for this session only; unset keeps the server's (or role's) synchronous_commit.
  if (sync) await client.query(`SET synchronous_commit = ${sync === 'full' ? 'on' : 'off'}`)
  const listeners: Array<(error: Error) => void> = []
  let lost: Error | null = null
  const fail = (error: Error) => {
    if (lost) return
    lost = error
    for (const l of listeners.splice(0)) l(error)
  }
  let closing = false
  client.on('error', (error) => fail(error))
  client.on('end', () => {
    if (!closing) fail(new Error('PostgreSQL connection closed'))
  })

  let tail: Promise<unknown> = Promise.resolve()
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn)
    tail = run.catch(() => {})
    return run
  }
  const raw = async <T>(text: string, params?: unknown[]) => (await client.query(text, params as unknown[])).rows as T[]
  const query = <T>(text: string, params?: unknown[]) => exclusive(() => raw<T>(text, params))
  const direct: SqlClient = {
    dialect: 'postgresql',
    all: (sql, params) => raw(toDollarParams(sql), params),
    get: async (sql, params) => (await raw<any>(toDollarParams(sql), params))[0],
    run: async (sql, params) => ({ changes: (await client.query(toDollarParams(sql), params as unknown[])).rowCount ?? 0 }),
    exec: async (sql) => {
      await client.query(sql)
    },
    transaction: (fn) => fn(direct),
  }
  const sql: SqlClient = {
    dialect: 'postgresql',
    all: (s, p) => exclusive(() => direct.all(s, p)),
    get: (s, p) => exclusive(() => direct.get(s, p)),
    run: (s, p) => exclusive(() => direct.run(s, p)),
    exec: (s) => exclusive(() => direct.exec(s)),
    transaction: (fn) =>
      exclusive(async () => {
        await client.query('BEGIN')
        try {
          const value = await fn(direct)
          await client.query('COMMIT')
          return value
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {})
          throw error
        }
      }),
  }
  return {
    dialect: 'postgresql',
    db,
    client,
    query,
    sql,
    url,
    describe: redactUrl(url),
    onLost(listener) {
      if (lost) listener(lost)
      else listeners.push(listener)
    },
    async close() {
      closing = true
      await tail.catch(() => {})
      await db.dispose().catch(() => {})
    },
  }
}
