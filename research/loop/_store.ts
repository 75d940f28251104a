import type { GatewayRouteContext } from '../../runtime/gateway/index.ts'
import type { LoopRecord, LoopStatus } from './_types.ts'

type GatewayDatabase = GatewayRouteContext['database']

// Portable SQL (SQLite and PostgreSQL): TEXT/BIGINT columns, ON CONFLICT upserts.
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS research_loops (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    phase TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    data TEXT NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS research_loops_status ON research_loops(status)`,
  `CREATE INDEX IF NOT EXISTS research_loops_created ON research_loops(created_at)`,
  `CREATE TABLE IF NOT EXISTS research_token_usage (
    day TEXT NOT NULL,
    model TEXT NOT NULL,
    tokens BIGINT NOT NULL,
    PRIMARY KEY (day, model)
  )`,
]

/**
 * Research loops live in the gateway's database beside the operations (their own tables, created
 * here): a loop row is written before any child is started and after each phase changes, so a
 * restarted gateway resumes every live loop at the phase it was in.
 */
export async function createLoopStore(database: GatewayDatabase) {
  // The gateway's dialect-neutral client (`?` placeholders), on SQLite and PostgreSQL alike.
  const { sql } = database
  for (const statement of SCHEMA) await sql.exec(statement)
  const parse = (r: { data: string } | undefined) => (r ? (JSON.parse(r.data) as LoopRecord) : null)
  return {
    async save(loop: LoopRecord) {
      // Strictly increasing per loop, even for two saves in one millisecond: a client waiting for
      // the next change (changed_after=<updated_at>) must not miss one.
      const previous = Date.parse(loop.updated_at)
      loop.updated_at = new Date(Number.isFinite(previous) ? Math.max(Date.now(), previous + 1) : Date.now()).toISOString()
      await sql.run(
        `INSERT INTO research_loops (id, status, phase, created_at, updated_at, data) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, phase = excluded.phase, updated_at = excluded.updated_at, data = excluded.data`,
        [loop.operation_id, loop.status, loop.phase, loop.created_at, loop.updated_at, JSON.stringify(loop)],
      )
    },
    async get(id: string) {
      return parse(await sql.get<{ data: string }>(`SELECT data FROM research_loops WHERE id = ?`, [id]))
    },
    async live() {
      const rows = await sql.all<{ data: string }>(
        `SELECT data FROM research_loops WHERE status IN ('pending', 'running') ORDER BY created_at, id`,
      )
      return rows.map((r) => parse(r)!)
    },
    async list(filter: { status?: LoopStatus[]; limit: number; offset: number }) {
      const where = filter.status?.length ? `WHERE status IN (${filter.status.map(() => '?').join(', ')})` : ''
      const args = filter.status ?? []
      const total = await sql.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM research_loops ${where}`, args)
      const rows = await sql.all<{ data: string }>(
        `SELECT data FROM research_loops ${where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
        [...args, filter.limit, filter.offset],
      )
      return { items: rows.map((r) => parse(r)!), total: Number(total?.n ?? 0) }
    },
    async addTokens(day: string, model: string, tokens: number) {
      if (!(tokens > 0)) return
      await sql.run(
        `INSERT INTO research_token_usage (day, model, tokens) VALUES (?, ?, ?)
         ON CONFLICT (day, model) DO UPDATE SET tokens = research_token_usage.tokens + excluded.tokens`,
        [day, model, Math.round(tokens)],
      )
    },
    async tokensOn(day: string): Promise<Record<string, number>> {
      const rows = await sql.all<{ model: string; tokens: number | string }>(
        `SELECT model, tokens FROM research_token_usage WHERE day = ?`,
        [day],
      )
      return Object.fromEntries(rows.map((r) => [r.model, Number(r.tokens)]))
    },
  }
}

export type LoopStore = Awaited<ReturnType<typeof createLoopStore>>
