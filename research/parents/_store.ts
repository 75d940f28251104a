import type { GatewayRouteContext } from '../../runtime/gateway/index.ts'
import type { ParentRecord, ParentStatus } from './_types.ts'

type SqlClient = GatewayRouteContext['database']['sql']

// Portable SQL (SQLite and PostgreSQL): TEXT columns, an ON CONFLICT upsert, `?` placeholders.
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS research_parents (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    data TEXT NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS research_parents_kind_status ON research_parents(kind, status)`,
  `CREATE INDEX IF NOT EXISTS research_parents_kind_created ON research_parents(kind, created_at)`,
]

// One schema creation per database: two kinds starting at once on PostgreSQL would otherwise race
// on CREATE TABLE IF NOT EXISTS (a unique violation on pg_type).
const created = new WeakMap<SqlClient, Promise<void>>()

function ensureSchema(sql: SqlClient): Promise<void> {
  let done = created.get(sql)
  if (!done) {
    done = (async () => {
      for (const statement of SCHEMA) await sql.exec(statement)
    })()
    created.set(sql, done)
    done.catch(() => created.delete(sql))
  }
  return done
}

/**
 * Fan-out parents (walk-forwards, sweeps) in the gateway's database, one row each beside the
 * operations: a row is written when the parent is accepted and at the end of each step that started
 * children or read results, so a restarted gateway resumes every live parent where it was.
 */
export async function createParentStore<R extends ParentRecord>(sql: SqlClient, kind: string) {
  await ensureSchema(sql)
  const parse = (r: { data: string } | undefined) => (r ? (JSON.parse(r.data) as R) : null)
  return {
    async save(record: R) {
      record.updated_at = new Date().toISOString()
      await sql.run(
        `INSERT INTO research_parents (id, kind, status, created_at, updated_at, data) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, data = excluded.data`,
        [record.operation_id, kind, record.status, record.created_at, record.updated_at, JSON.stringify(record)],
      )
    },
    async get(id: string) {
      return parse(await sql.get<{ data: string }>(`SELECT data FROM research_parents WHERE id = ? AND kind = ?`, [id, kind]))
    },
    async live() {
      const rows = await sql.all<{ data: string }>(
        `SELECT data FROM research_parents WHERE kind = ? AND status IN ('pending', 'running') ORDER BY created_at, id`,
        [kind],
      )
      return rows.map((r) => parse(r)!)
    },
    async list(filter: { status?: ParentStatus[]; limit: number; offset: number }) {
      const statuses = filter.status ?? []
      const where = `WHERE kind = ?${statuses.length ? ` AND status IN (${statuses.map(() => '?').join(', ')})` : ''}`
      const args = [kind, ...statuses]
      const total = await sql.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM research_parents ${where}`, args)
      const rows = await sql.all<{ data: string }>(
        `SELECT data FROM research_parents ${where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
        [...args, filter.limit, filter.offset],
      )
      return { items: rows.map((r) => parse(r)!), total: Number(total?.n ?? 0) }
    },
  }
}

export type ParentStore<R extends ParentRecord> = Awaited<ReturnType<typeof createParentStore<R>>>
