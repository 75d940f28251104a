import type { HostLogEvent, OperationLogLine } from '../protocol/index.ts'
import type { GatewayDatabase, SqlClient } from './_db.ts'
import type { GatewayHooks } from './_hooks.ts'
import type { LogOptions } from './_options.ts'

/** One text for both backends but the key: SQLite's AUTOINCREMENT rowid is PostgreSQL's BIGSERIAL. */
const schema = (sql: Pick<SqlClient, 'dialect'>) => `
CREATE TABLE IF NOT EXISTS operation_logs (
  id ${sql.dialect === 'postgresql' ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT'},
  operation_id TEXT NOT NULL REFERENCES operations(operation_id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  n INTEGER NOT NULL,
  ts TEXT NOT NULL,
  level TEXT NOT NULL,
  stream TEXT NOT NULL,
  message TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  UNIQUE (operation_id, attempt, n)
);
CREATE INDEX IF NOT EXISTS operation_logs_operation ON operation_logs(operation_id, id);
`

export interface LogListFilter {
  /** Only lines with a larger id (a follow resuming, `Last-Event-ID`). */
  after?: number
  attempt?: number
  limit: number
  offset: number
}

export interface OperationLogs {
  /**
   * Stores a host's batch (lines already stored are skipped) and tells followers about the new
   * ones. Batches are written in arrival order; `flushed()` resolves once every batch appended so
   * far is committed (the host drops what the gateway acknowledges).
   */
  append(event: HostLogEvent): Promise<OperationLogLine[]>
  flushed(): Promise<void>
  list(operationId: string, filter: LogListFilter): Promise<{ items: OperationLogLine[]; total: number }>
}

/**
 * What functions wrote, per operation, in the gateway's database beside the operations (SQLite or
 * PostgreSQL; docs/operations.md#logs). Each line is stored once: (operation, attempt, n) is unique
 * and a re-sent batch is ignored. Bounded per operation: the newest `maxLines` lines and `maxBytes`
 * bytes are kept, older ones deleted as new ones arrive. The rows go with their operation (ON
 * DELETE CASCADE), so retention needs nothing of its own.
 */
export async function createOperationLogs(deps: {
  database: GatewayDatabase
  hooks: GatewayHooks
  options: LogOptions
}): Promise<OperationLogs> {
  const { hooks, options } = deps
  const sql = deps.database.sql
  await sql.exec(schema(sql))
  /** Lines and bytes stored per operation still receiving lines (loaded on first use, dropped when it finishes). */
  const sizes = new Map<string, { lines: number; bytes: number }>()
  hooks.on('operation:finished', (op) => sizes.delete(op.operation_id))

  const write = (event: HostLogEvent): Promise<OperationLogLine[]> =>
    sql.transaction(async (tx) => {
      const id = event.operation_id
      if (!(await tx.get(`SELECT 1 AS one FROM operations WHERE operation_id = ?`, [id]))) return []
      let size = sizes.get(id)
      if (!size) {
        const row = await tx.get<{ lines: number; bytes: number }>(
          `SELECT COUNT(*) AS lines, COALESCE(SUM(bytes), 0) AS bytes FROM operation_logs WHERE operation_id = ?`,
          [id],
        )
        sizes.set(id, (size = { lines: Number(row?.lines ?? 0), bytes: Number(row?.bytes ?? 0) }))
      }
      const added: OperationLogLine[] = []
      const lines =
        event.dropped && event.lines.length
          ? [
              {
                n: -event.lines[0]!.n,
                ts: event.lines[0]!.ts,
                level: 'warn',
                stream: 'logger' as const,
                message: `… ${event.dropped} line(s) dropped by the host: more than it keeps unsent per operation`,
              },
              ...event.lines,
            ]
          : event.lines
      for (const line of lines) {
        const bytes = Buffer.byteLength(line.message)
        const inserted = await tx.all<{ id: number }>(
          `INSERT INTO operation_logs (operation_id, attempt, n, ts, level, stream, message, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (operation_id, attempt, n) DO NOTHING RETURNING id`,
          [id, event.attempt, line.n, line.ts, line.level, line.stream, line.message, bytes],
        )
        if (inserted.length === 0) continue
        added.push({ id: Number(inserted[0]!.id), attempt: event.attempt, ...line })
        size.lines++
        size.bytes += bytes
      }
      if (size.lines > options.maxLines || size.bytes > options.maxBytes) {
        // Oldest first, until both bounds hold again.
        let cut = 0
        const oldest = await tx.all<{ id: number; bytes: number }>(
          `SELECT id, bytes FROM operation_logs WHERE operation_id = ? ORDER BY id LIMIT ?`,
          [id, size.lines],
        )
        for (const row of oldest) {
          if (size.lines <= options.maxLines && size.bytes <= options.maxBytes) break
          cut = Number(row.id)
          size.lines--
          size.bytes -= Number(row.bytes)
        }
        if (cut) await tx.run(`DELETE FROM operation_logs WHERE operation_id = ? AND id <= ?`, [id, cut])
      }
      return added
    })

  let tail: Promise<unknown> = Promise.resolve()
  return {
    append(event) {
      if (!Array.isArray(event.lines) || event.lines.length === 0) return Promise.resolve([])
      const done = tail.then(() => write(event))
      tail = done.catch(() => {})
      return done.then((added) => {
        if (added.length) hooks.emit('operation:log', event.operation_id, added)
        return added
      })
    },
    flushed: () => tail.then(() => {}),
    async list(operationId, filter) {
      const where = ['operation_id = ?']
      const args: unknown[] = [operationId]
      if (filter.after !== undefined) {
        where.push('id > ?')
        args.push(filter.after)
      }
      if (filter.attempt !== undefined) {
        where.push('attempt = ?')
        args.push(filter.attempt)
      }
      const clause = where.join(' AND ')
      const total = await sql.get<{ n: number }>(`SELECT COUNT(*) AS n FROM operation_logs WHERE ${clause}`, args)
      const items = await sql.all<OperationLogLine>(
        `SELECT id, attempt, n, ts, level, stream, message FROM operation_logs WHERE ${clause} ORDER BY id LIMIT ? OFFSET ?`,
        [...args, filter.limit, filter.offset],
      )
      return { items: items.map((l) => ({ ...l, id: Number(l.id) })), total: Number(total?.n ?? 0) }
    },
  }
}
