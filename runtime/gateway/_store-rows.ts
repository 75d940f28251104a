import type { GatewayDatabase } from './_db.ts'
import type { OperationListFilter, StoredOperation } from './_store.ts'

// Rows of the operations table as both stores (SQLite, PostgreSQL) read and write them.

export const rowToStored = (r: any): StoredOperation | null =>
  r ? { op: JSON.parse(r.data), plan: JSON.parse(r.plan), seq: r.seq, lastEventSeq: r.last_event_seq } : null

export const storedToParams = (s: StoredOperation) => ({
  operation_id: s.op.operation_id,
  operation_type: s.op.operation_type,
  function_name: s.op.function.name,
  status: s.op.status,
  worker_id: s.op.worker_id,
  priority: s.op.priority,
  seq: s.seq,
  idempotency_key: s.op.idempotency_key,
  created_at: s.op.created_at,
  updated_at: s.op.updated_at,
  last_event_seq: s.lastEventSeq,
  data: JSON.stringify(s.op),
  plan: JSON.stringify(s.plan),
})

type Dialect = GatewayDatabase['dialect']

/**
 * An operation's parent, read from its JSON (`data`): no column of its own, so older databases need
 * no migration. The only JSON the stores query into, hence one expression per dialect.
 */
const PARENT_EXPR: Record<Dialect, string> = {
  sqlite: `json_extract(data, '$.parent_operation_id')`,
  postgresql: `((data::jsonb)->>'parent_operation_id')`,
}

/** The expression index that serves GET /operations/:id/children (the filter uses the same expression). */
export const PARENT_INDEX: Record<Dialect, string> = {
  sqlite: `CREATE INDEX IF NOT EXISTS operations_parent ON operations(${PARENT_EXPR.sqlite});`,
  postgresql: `CREATE INDEX IF NOT EXISTS operations_parent ON operations(${PARENT_EXPR.postgresql});`,
}

/** WHERE clause and `?` arguments of a list filter (the same SQL on both backends but the parent expression). */
export function listWhere(filter: OperationListFilter, dialect: Dialect): { clause: string; args: unknown[] } {
  const where: string[] = []
  const args: unknown[] = []
  if (filter.status?.length) {
    where.push(`status IN (${filter.status.map(() => '?').join(',')})`)
    args.push(...filter.status)
  }
  if (filter.operation_type) {
    where.push('operation_type = ?')
    args.push(filter.operation_type)
  }
  if (filter.function) {
    where.push('function_name = ?')
    args.push(filter.function)
  }
  if (filter.worker_id) {
    where.push('worker_id = ?')
    args.push(filter.worker_id)
  }
  if (filter.parent_operation_id) {
    where.push(`${PARENT_EXPR[dialect]} = ?`)
    args.push(filter.parent_operation_id)
  }
  return { clause: where.length ? `WHERE ${where.join(' AND ')}` : '', args }
}

export const PURGE_SQL = `DELETE FROM operations WHERE status IN ('completed', 'failed', 'cancelled') AND updated_at < ?`
