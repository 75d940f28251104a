import type { HostLogEvent, OperationLogLine } from '../protocol/index.ts'
import type { GatewayDatabase } from './_db.ts'
import type { GatewayHooks } from './_hooks.ts'
import type { LogOptions } from './_options.ts'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS operation_logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
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
`

export interface LogListFilter {
  /** Only lines with a larger id (a follow resuming, `Last-Event-ID`). */
  after?: number
  attempt?: number
  limit: number
  offset: number
}

/**
 * What functions wrote, per operation, in SQLite beside the operations (docs/operations.md#logs).
 * Each line is stored once: (operation, attempt, n) is unique and a re-sent batch is ignored.
 * Bounded per operation: the newest `maxLines` lines and `maxBytes` bytes are kept, older ones
 * deleted as new ones arrive. The rows go with their operation (ON DELETE CASCADE), so retention
 * needs nothing of its own.
 */
export function createOperationLogs(deps: { database: GatewayDatabase; hooks: GatewayHooks; options: LogOptions }) {
  const { hooks, options } = deps
  const sqlite = deps.database.sqlite
  sqlite.exec(SCHEMA)
  const insert = sqlite.prepare(
    `INSERT OR IGNORE INTO operation_logs (operation_id, attempt, n, ts, level, stream, message, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  const totals = sqlite.prepare(`SELECT COUNT(*) AS lines, COALESCE(SUM(bytes), 0) AS bytes FROM operation_logs WHERE operation_id = ?`)
  const oldest = sqlite.prepare(`SELECT id, bytes FROM operation_logs WHERE operation_id = ? ORDER BY id LIMIT ?`)
  const trim = sqlite.prepare(`DELETE FROM operation_logs WHERE operation_id = ? AND id <= ?`)
  const exists = sqlite.prepare(`SELECT 1 FROM operations WHERE operation_id = ?`)
  /** Lines and bytes stored per operation still receiving lines (loaded on first use, dropped when it finishes). */
  const sizes = new Map<string, { lines: number; bytes: number }>()
  hooks.on('operation:finished', (op) => sizes.delete(op.operation_id))

  const write = sqlite.transaction((event: HostLogEvent): OperationLogLine[] => {
    const id = event.operation_id
    let size = sizes.get(id)
    if (!size) sizes.set(id, (size = totals.get(id) as { lines: number; bytes: number }))
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
      const r = insert.run(id, event.attempt, line.n, line.ts, line.level, line.stream, line.message, bytes)
      if (r.changes === 0) continue
      added.push({ id: Number(r.lastInsertRowid), attempt: event.attempt, ...line })
      size.lines++
      size.bytes += bytes
    }
    if (size.lines > options.maxLines || size.bytes > options.maxBytes) {
      // Oldest first, until both bounds hold again.
      let cut = 0
      for (const row of oldest.iterate(id, size.lines) as Iterable<{ id: number; bytes: number }>) {
        if (size.lines <= options.maxLines && size.bytes <= options.maxBytes) break
        cut = row.id
        size.lines--
        size.bytes -= row.bytes
      }
      if (cut) trim.run(id, cut)
    }
    return added
  })

  function list(operationId: string, filter: LogListFilter): { items: OperationLogLine[]; total: number } {
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
    const total = (sqlite.prepare(`SELECT COUNT(*) AS n FROM operation_logs WHERE ${clause}`).get(...args) as { n: number }).n
    const items = sqlite
      .prepare(`SELECT id, attempt, n, ts, level, stream, message FROM operation_logs WHERE ${clause} ORDER BY id LIMIT ? OFFSET ?`)
      .all(...args, filter.limit, filter.offset) as OperationLogLine[]
    return { items, total }
  }

  return {
    /** Stores a host's batch (lines already stored are skipped) and tells followers about the new ones. */
    append(event: HostLogEvent): OperationLogLine[] {
      if (!Array.isArray(event.lines) || event.lines.length === 0 || !exists.get(event.operation_id)) return []
      const added = write(event)
      if (added.length) hooks.emit('operation:log', event.operation_id, added)
      return added
    },
    list,
  }
}

export type OperationLogs = ReturnType<typeof createOperationLogs>
