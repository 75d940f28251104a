import type { Operation } from '../protocol/index.ts'
import { notActiveError } from './_fence.ts'
import { toDollarParams, type PostgresGatewayDatabase } from './_db-postgres.ts'
import { LEADER_SCHEMA, OPERATIONS_SCHEMA } from './_schema.ts'
import {
  PARENT_INDEX,
  PURGE_SQL,
  keyIndexMigration,
  listWhere,
  parentMigration,
  rowToStored,
  storedToParams,
  storedToUpdateParams,
} from './_store-rows.ts'
import type { OperationStore, OperationStoreOptions, StoredOperation, WriteFence } from './_store.ts'
import { createWriteSchedule } from './_write-schedule.ts'

const COLUMNS =
  'operation_id, operation_type, function_name, status, worker_id, priority, seq, idempotency_key, created_at, updated_at, last_event_seq, data, plan, parent_operation_id'

// Every write checks the leader epoch under a share lock on the leader row: a takeover's epoch bump
// waits for writes already under way, and writes that start after it find a different epoch and
// change nothing. A gateway that lost its advisory lock without noticing can therefore not write.
const FENCE = `fence AS (SELECT epoch FROM ktrdr_leader WHERE id = 1 AND ($2::bigint IS NULL OR epoch = $2::bigint) FOR SHARE)`

// One statement per batch (an implicit transaction, one round trip): rows arrive as one JSON array.
const INSERT = `WITH ${FENCE},
ins AS (
  INSERT INTO operations (${COLUMNS})
  SELECT ${COLUMNS.split(', ')
    .map((c) => `r.${c}`)
    .join(', ')} FROM json_populate_recordset(NULL::operations, $1::json) r, fence
  ON CONFLICT DO NOTHING RETURNING operation_id)
SELECT (SELECT count(*) FROM fence) AS fenced_in, (SELECT coalesce(json_agg(operation_id), '[]'::json) FROM ins) AS ids`

const UPDATE = `WITH ${FENCE},
upd AS (
  UPDATE operations o SET status = r.status, worker_id = r.worker_id, priority = r.priority, seq = r.seq,
    updated_at = r.updated_at, last_event_seq = r.last_event_seq, data = r.data
  FROM json_populate_recordset(NULL::operations, $1::json) r, fence
  WHERE o.operation_id = r.operation_id RETURNING 1)
SELECT (SELECT count(*) FROM fence) AS fenced_in, (SELECT count(*) FROM upd) AS n`

interface Waiter<T = void> {
  resolve: (value: T) => void
  reject: (e: unknown) => void
}

/**
 * The operation store on PostgreSQL, with SQLite's semantics: inserts are group-committed (every
 * insert that arrives while one batch is being written goes into the next batch, one statement
 * each) and resolve only after their commit; updates of a turn are written latest-state-only in
 * one statement and `flushed()` resolves after that commit.
 */
export async function createPostgresOperationStore(
  database: PostgresGatewayDatabase,
  fence?: WriteFence,
  options: OperationStoreOptions = {},
): Promise<OperationStore> {
  const { query } = database
  await database.sql.exec(OPERATIONS_SCHEMA + LEADER_SCHEMA)
  const [column] = await query<{ n: number }>(
    `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'operations' AND column_name = 'parent_operation_id' AND table_schema = current_schema()`,
  )
  const [oldIndex] = await query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'operations' AND indexname = 'operations_parent' AND schemaname = current_schema()`,
  )
  // One statement list, one implicit transaction: a gateway that dies half-way leaves the old layout.
  await database.sql.exec(
    `BEGIN;\n${parentMigration('postgresql', { hasColumn: column!.n > 0, hasOldIndex: oldIndex!.n > 0 })}\n${PARENT_INDEX}\n${keyIndexMigration('postgresql')}\nCOMMIT;`,
  )
  const epoch = fence?.epoch ?? null
  const fenced = () => {
    fence?.onFenced()
    return notActiveError(epoch)
  }

  let pending: Array<{ s: StoredOperation } & Waiter<string>> = []
  let inserting = false
  const flushInserts = async () => {
    if (inserting || pending.length === 0) return
    inserting = true
    // An operation whose row cannot be made fails alone, as on SQLite.
    const batch: typeof pending = []
    const rows: Array<ReturnType<typeof storedToParams>> = []
    for (const b of pending) {
      try {
        rows.push(storedToParams(b.s))
        batch.push(b)
      } catch (error) {
        b.reject(error)
      }
    }
    pending = []
    // Changes held in the write window go out now, beside this commit.
    if (dirty.size) schedule.soon()
    try {
      const [r] = await query<{ fenced_in: number; ids: string[] }>(INSERT, [JSON.stringify(rows), epoch])
      if (!r.fenced_in) {
        const error = fenced()
        for (const b of batch) b.reject(error)
      } else {
        const ok = new Set(r.ids)
        for (const [i, b] of batch.entries()) {
          if (ok.has(b.s.op.operation_id)) b.resolve(rows[i]!.data)
          else b.reject(new Error(`UNIQUE constraint failed: operations.${b.s.op.idempotency_key ? 'idempotency_key' : 'operation_id'}`))
        }
      }
    } catch (error) {
      for (const b of batch) b.reject(error)
    } finally {
      inserting = false
    }
    if (pending.length) void flushInserts()
  }

  const dirty = new Map<string, StoredOperation>()
  const inflight = new Map<string, StoredOperation>()
  let waiters: Waiter[] = []
  // The write under way; resolves with its error (null when committed), so a late `flushed()` that
  // found its changes already in flight learns about a failure too.
  let writing: Promise<unknown> | null = null
  const flushUpdates = (): Promise<unknown> => {
    schedule.taken()
    if (writing) return writing.then(() => (dirty.size || waiters.length ? flushUpdates() : undefined))
    const items = [...dirty.values()]
    const done = waiters
    dirty.clear()
    waiters = []
    for (const s of items) inflight.set(s.op.operation_id, s)
    writing = (async () => {
      try {
        if (items.length) {
          const [r] = await query<{ fenced_in: number }>(UPDATE, [JSON.stringify(items.map(storedToUpdateParams)), epoch])
          if (!r.fenced_in) throw fenced()
        }
        for (const w of done) w.resolve()
        return null
      } catch (error) {
        for (const w of done) w.reject(error)
        return error
      } finally {
        for (const s of items) if (inflight.get(s.op.operation_id) === s) inflight.delete(s.op.operation_id)
        writing = null
      }
    })()
    return writing
  }
  const schedule = createWriteSchedule(flushUpdates, options.writeWindowMs)
  const flushNow = async () => {
    while (dirty.size || writing) {
      const error = await flushUpdates()
      if (error) throw error
    }
  }
  const rethrow = (error: unknown) => {
    if (error) throw error
  }

  const select = async (where: string, arg: string) =>
    rowToStored((await query(`SELECT data, plan, seq, last_event_seq FROM operations WHERE ${where} = $1`, [arg]))[0])
  const [{ seq }] = await query<{ seq: number }>('SELECT COALESCE(MAX(seq), 0) AS seq FROM operations')

  return {
    nextSeq: seq,
    insertBatched(s) {
      return new Promise((resolve, reject) => {
        if (pending.length === 0) setImmediate(flushInserts)
        pending.push({ s, resolve, reject })
      })
    },
    update(s) {
      dirty.set(s.op.operation_id, s)
      schedule.later()
    },
    flushed() {
      if (dirty.size === 0) return writing ? writing.then(rethrow) : Promise.resolve()
      return new Promise((resolve, reject) => {
        waiters.push({ resolve, reject })
        schedule.soon()
      })
    },
    flushNow,
    async get(id) {
      return dirty.get(id) ?? inflight.get(id) ?? select('operation_id', id)
    },
    async getByIdempotencyKey(key) {
      const r = await select('idempotency_key', key)
      return r ? (dirty.get(r.op.operation_id) ?? inflight.get(r.op.operation_id) ?? r) : null
    },
    async loadLive() {
      return (
        await query(`SELECT data, plan, seq, last_event_seq FROM operations WHERE status IN ('pending', 'running') ORDER BY seq`)
      ).map((r) => rowToStored(r)!)
    },
    async list(filter) {
      await flushNow()
      const { clause, args } = listWhere(filter)
      const [{ n }] = await query<{ n: number }>(toDollarParams(`SELECT COUNT(*) AS n FROM operations ${clause}`), args)
      const rows = await query<{ data: string }>(
        toDollarParams(`SELECT data FROM operations ${clause} ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?`),
        [...args, filter.limit, filter.offset],
      )
      return { items: rows.map((r) => JSON.parse(r.data) as Operation), total: n }
    },
    async purgeFinished(cutoff) {
      await flushNow()
      return (await database.sql.run(PURGE_SQL, [cutoff])).changes
    },
  }
}
