import type { GatewayDatabase } from './_db.ts'
import type { OperationListFilter, StoredOperation } from './_store.ts'

// Rows of the operations table as both stores (SQLite, PostgreSQL) read and write them.

export const rowToStored = (r: any): StoredOperation | null =>
  r ? { op: JSON.parse(r.data), plan: JSON.parse(r.plan), seq: r.seq, lastEventSeq: r.last_event_seq } : null

/** What an update writes: the row's changing columns (the plan and the insert-only columns stay). */
export const storedToUpdateParams = (s: StoredOperation) => ({
  operation_id: s.op.operation_id,
  status: s.op.status,
  worker_id: s.op.worker_id,
  priority: s.op.priority,
  seq: s.seq,
  updated_at: s.op.updated_at,
  last_event_seq: s.lastEventSeq,
  data: JSON.stringify(s.op),
})

// The invoker shares one frozen plan among the operations of a function version (_invoke.ts): its
// JSON is made once. Only frozen plans are remembered, since nothing else promises not to change.
const planJson = new WeakMap<object, string>()
function planText(plan: StoredOperation['plan']): string {
  let text = planJson.get(plan)
  if (text === undefined) {
    text = JSON.stringify(plan)
    if (Object.isFrozen(plan)) planJson.set(plan, text)
  }
  return text
}

/**
 * What an insert writes: the changing columns and those set once, added to the update's object.
 * Not `{ ...storedToUpdateParams(s), more }`: on Node 20 a spread followed by six keys the object
 * lacks took 4.4 µs per row (V8 builds it key by key), Object.assign onto the fresh object 0.09 µs;
 * the spread was 10 % of the gateway's busy time in a profile of channel accepts at c=16.
 */
export const storedToParams = (s: StoredOperation) =>
  Object.assign(storedToUpdateParams(s), {
    operation_type: s.op.operation_type,
    function_name: s.op.function.name,
    idempotency_key: s.op.idempotency_key,
    created_at: s.op.created_at,
    plan: planText(s.plan),
    parent_operation_id: s.op.parent_operation_id ?? null,
  })

type Dialect = GatewayDatabase['dialect']

/**
 * An operation's parent has a column of its own, written at insert and never updated, indexed only
 * where it is set (the children of sweeps, walk-forwards and research loops). It used to be read
 * from the JSON (`data`) through an expression index, so every insert and every update of any
 * operation parsed its JSON once more for the index: 3.5-4 µs of CPU per row written and updated
 * with a 250-byte `data` (better-sqlite3 bench, four alternating runs), more with a training's
 * strategy in it and again at each progress write. Databases made before get the column, filled
 * from the JSON, and lose the expression index, in one transaction at open (parentMigration).
 */
export const PARENT_INDEX = `CREATE INDEX IF NOT EXISTS operations_parent_id ON operations(parent_operation_id) WHERE parent_operation_id IS NOT NULL;`

/** The former expression index and how each dialect read the parent from the JSON (for the migration only). */
const OLD_PARENT_INDEX = 'operations_parent'
const PARENT_FROM_JSON: Record<Dialect, string> = {
  sqlite: `json_extract(data, '$.parent_operation_id')`,
  postgresql: `((data::jsonb)->>'parent_operation_id')`,
}

/**
 * SQL that moves a database made before the parent column onto it: add the column where missing,
 * fill it from the JSON and drop the expression index. Only when that index is still there (a new
 * database has neither): the fill reads every row's JSON once.
 */
export function parentMigration(dialect: Dialect, { hasColumn, hasOldIndex }: { hasColumn: boolean; hasOldIndex: boolean }): string {
  if (hasColumn && !hasOldIndex) return ''
  return [
    // IF NOT EXISTS on PostgreSQL: a standby opening the same database at once may have added it meanwhile.
    hasColumn ? '' : `ALTER TABLE operations ADD COLUMN ${dialect === 'postgresql' ? 'IF NOT EXISTS ' : ''}parent_operation_id TEXT;`,
    `UPDATE operations SET parent_operation_id = ${PARENT_FROM_JSON[dialect]} WHERE parent_operation_id IS NULL AND ${PARENT_FROM_JSON[dialect]} IS NOT NULL;`,
    `DROP INDEX IF EXISTS ${OLD_PARENT_INDEX};`,
  ].join('\n')
}

/**
 * Idempotency keys are unique where set, and most operations have none. The column's UNIQUE
 * constraint indexed every row, NULL keys too; this index holds only the keys that are set, so an
 * insert without one writes one index less: better-sqlite3, WAL, groups of 16 rows of 1.3 KB, 1 µs
 * of CPU less per row in six of seven alternating pairs (13.8–14.1 against 14.8–15.3 µs on a quiet
 * machine). `= ?` implies NOT NULL, so lookups by key use it on both backends.
 */
export const KEY_INDEX = `CREATE UNIQUE INDEX IF NOT EXISTS operations_idempotency_key ON operations(idempotency_key) WHERE idempotency_key IS NOT NULL;`

/**
 * The key index on a database made before it, whose table has the column constraint: PostgreSQL
 * swaps the constraint for the index; SQLite cannot drop a column constraint without copying the
 * table, so such a database keeps its constraint (keys stay unique, every insert still writes that
 * index) and gets no second index.
 */
export function keyIndexMigration(dialect: Dialect, { columnUnique = false }: { columnUnique?: boolean } = {}): string {
  if (dialect === 'postgresql') return `${KEY_INDEX}\nALTER TABLE operations DROP CONSTRAINT IF EXISTS operations_idempotency_key_key;`
  return columnUnique ? '' : KEY_INDEX
}

/** WHERE clause and `?` arguments of a list filter (the same SQL on both backends). */
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
  if (filter.parent_operation_id) {
    where.push('parent_operation_id = ?')
    args.push(filter.parent_operation_id)
  }
  return { clause: where.length ? `WHERE ${where.join(' AND ')}` : '', args }
}

export const PURGE_SQL = `DELETE FROM operations WHERE status IN ('completed', 'failed', 'cancelled') AND updated_at < ?`
