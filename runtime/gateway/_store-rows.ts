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

/** WHERE clause and `?` arguments of a list filter (same SQL on both backends). */
export function listWhere(filter: OperationListFilter): { clause: string; args: unknown[] } {
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
  return { clause: where.length ? `WHERE ${where.join(' AND ')}` : '', args }
}

export const PURGE_SQL = `DELETE FROM operations WHERE status IN ('completed', 'failed', 'cancelled') AND updated_at < ?`
