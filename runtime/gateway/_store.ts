import type { Operation, OperationStatus } from '../protocol/index.ts'
import type { GatewayDatabase, SqliteGatewayDatabase } from './_db.ts'
import type { WriteFence } from './_fence.ts'
import { OPERATIONS_SCHEMA } from './_schema.ts'
import { listWhere, PARENT_INDEX, parentMigration, PURGE_SQL, rowToStored, storedToParams } from './_store-rows.ts'
import type { DispatchPlan } from './_types.ts'

/** A live operation as the gateway keeps it: the public object plus what dispatch needs. */
export interface StoredOperation {
  op: Operation
  plan: DispatchPlan
  /** Enqueue order, persisted so FIFO survives a restart. */
  seq: number
  /** Highest host event seq applied for the current attempt (idempotent event replay). */
  lastEventSeq: number
}

export interface OperationListFilter {
  status?: OperationStatus[]
  operation_type?: string
  function?: string
  worker_id?: string
  parent_operation_id?: string
  limit: number
  offset: number
}

/**
 * Durable operations (and with them the queue: a pending row IS a queue entry), the same contract
 * on both backends: an insert resolves only after its commit (acknowledge after commit), updates
 * are deferred to the end of the event-loop turn and `flushed()` resolves once they are committed.
 */
export interface OperationStore {
  /** Highest seq stored when the store was opened. */
  nextSeq: number
  /** Durable insert, committed together with the other inserts of this event-loop turn. */
  insertBatched(s: StoredOperation): Promise<void>
  update(s: StoredOperation): void
  /** Resolves once every update made so far is committed. */
  flushed(): Promise<void>
  /** Write pending updates now (shutdown, before a purge). */
  flushNow(): Promise<void>
  get(id: string): Promise<StoredOperation | null>
  getByIdempotencyKey(key: string): Promise<StoredOperation | null>
  loadLive(): Promise<StoredOperation[]>
  list(filter: OperationListFilter): Promise<{ items: Operation[]; total: number }>
  /** Deletes finished operations last changed before `cutoff` (ISO); returns how many. */
  purgeFinished(cutoff: string): Promise<number>
}

export type { WriteFence } from './_fence.ts'

/** The store for the gateway's database; `fence` (PostgreSQL) is the leader epoch every write checks. */
export async function createOperationStore(database: GatewayDatabase, fence?: WriteFence): Promise<OperationStore> {
  if (database.dialect === 'postgresql') {
    const { createPostgresOperationStore } = await import('./_store-postgres.ts')
    return createPostgresOperationStore(database, fence)
  }
  return createSqliteOperationStore(database)
}

/**
 * SQLite: prepared better-sqlite3 statements, one insert per accepted invocation, one update per
 * state change, synchronous underneath (the async signatures cost one microtask).
 */
function createSqliteOperationStore(database: SqliteGatewayDatabase): OperationStore {
  const sqlite = database.sqlite
  sqlite.transaction(() => {
    sqlite.exec(OPERATIONS_SCHEMA)
    const hasColumn = (sqlite.prepare(`PRAGMA table_info(operations)`).all() as Array<{ name: string }>).some(
      (c) => c.name === 'parent_operation_id',
    )
    const hasOldIndex = !!sqlite.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'operations_parent'`).get()
    sqlite.exec(parentMigration('sqlite', { hasColumn, hasOldIndex }) + PARENT_INDEX)
  })()
  const insert =
    sqlite.prepare(`INSERT INTO operations (operation_id, operation_type, function_name, status, worker_id, priority, seq, idempotency_key, created_at, updated_at, last_event_seq, data, plan, parent_operation_id)
    VALUES (@operation_id, @operation_type, @function_name, @status, @worker_id, @priority, @seq, @idempotency_key, @created_at, @updated_at, @last_event_seq, @data, @plan, @parent_operation_id)`)
  const update = sqlite.prepare(
    `UPDATE operations SET status = @status, worker_id = @worker_id, priority = @priority, seq = @seq, updated_at = @updated_at, last_event_seq = @last_event_seq, data = @data WHERE operation_id = @operation_id`,
  )
  const byId = sqlite.prepare(`SELECT data, plan, seq, last_event_seq FROM operations WHERE operation_id = ?`)
  const byKey = sqlite.prepare(`SELECT data, plan, seq, last_event_seq FROM operations WHERE idempotency_key = ?`)
  const live = sqlite.prepare(`SELECT data, plan, seq, last_event_seq FROM operations WHERE status IN ('pending', 'running') ORDER BY seq`)
  const maxSeq = sqlite.prepare(`SELECT COALESCE(MAX(seq), 0) AS seq FROM operations`)
  const purge = sqlite.prepare(PURGE_SQL)
  // KTRDR_DB_SYNC=full: these group commits skip SQLite's in-commit fsync (which would block the
  // event loop) and their callers await the WAL's group fsync instead (_wal-sync.ts).
  const wal = database.walSync
  // Commits made so far and the last one known to be on disk: flushed() with nothing left to write
  // must still wait for the fsync of an earlier commit nobody was waiting for.
  let committed = 0
  let synced = 0
  const hot = <T>(fn: () => T): T => {
    if (!wal) return fn()
    // exec, not a prepared statement: SQLite applies this pragma when it compiles it.
    sqlite.exec('PRAGMA synchronous = NORMAL')
    try {
      const value = fn()
      committed++
      return value
    } finally {
      sqlite.exec('PRAGMA synchronous = FULL')
    }
  }
  const durable = (): Promise<void> => {
    const upTo = committed
    return wal!.synced().then(() => {
      synced = Math.max(synced, upTo)
    })
  }

  // Group commit: inserts from one event-loop turn share one transaction (one WAL append) and
  // each caller answers only after that commit, so acceptance stays durable at a fraction of the cost.
  let pending: Array<{ s: StoredOperation; resolve: () => void; reject: (e: unknown) => void }> = []
  const commitBatch = sqlite.transaction((batch: typeof pending) => {
    const failures: unknown[] = []
    for (const item of batch) {
      try {
        insert.run(params(item.s))
        failures.push(null)
      } catch (error) {
        failures.push(error)
      }
    }
    return failures
  })
  const flush = () => {
    const batch = pending
    pending = []
    let failures: unknown[]
    try {
      failures = hot(() => commitBatch(batch))
    } catch (error) {
      for (const item of batch) item.reject(error)
      return
    }
    const answer = () => batch.forEach((item, i) => (failures[i] ? item.reject(failures[i]) : item.resolve()))
    if (!wal) return answer()
    durable().then(answer, (error) => {
      for (const item of batch) item.reject(error)
    })
  }

  // Deferred updates: state changes of one event-loop turn are written in one transaction, latest
  // state per operation only. Whoever acknowledges a change to someone else (an event ack to a host,
  // a cancel to a client) awaits `flushed()` first, so nothing acknowledged can be lost.
  const dirty = new Map<string, StoredOperation>()
  let flushWaiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = []
  let updateScheduled = false
  const writeDirty = sqlite.transaction((items: StoredOperation[]) => {
    for (const item of items) {
      const p = params(item)
      update.run({
        operation_id: p.operation_id,
        status: p.status,
        worker_id: p.worker_id,
        priority: p.priority,
        seq: p.seq,
        updated_at: p.updated_at,
        last_event_seq: p.last_event_seq,
        data: p.data,
      })
    }
  })
  const flushUpdates = () => {
    updateScheduled = false
    const items = [...dirty.values()]
    dirty.clear()
    const waiters = flushWaiters
    flushWaiters = []
    try {
      if (items.length) hot(() => writeDirty(items))
    } catch (error) {
      for (const w of waiters) w.reject(error)
      return
    }
    if (!wal || waiters.length === 0) {
      for (const w of waiters) w.resolve()
      return
    }
    durable().then(
      () => waiters.forEach((w) => w.resolve()),
      (error) => waiters.forEach((w) => w.reject(error)),
    )
  }

  const row = rowToStored
  const params = storedToParams

  return {
    nextSeq: (maxSeq.get() as { seq: number }).seq,
    insertBatched(s) {
      return new Promise((resolve, reject) => {
        if (pending.length === 0) setImmediate(flush)
        pending.push({ s, resolve, reject })
      })
    },
    update(s) {
      dirty.set(s.op.operation_id, s)
      if (!updateScheduled) {
        updateScheduled = true
        setImmediate(flushUpdates)
      }
    },
    flushed() {
      if (!updateScheduled && dirty.size === 0) return wal && synced < committed ? durable() : Promise.resolve()
      return new Promise((resolve, reject) => {
        flushWaiters.push({ resolve, reject })
      })
    },
    async flushNow() {
      if (updateScheduled || dirty.size) flushUpdates()
    },
    async get(id) {
      return dirty.get(id) ?? row(byId.get(id))
    },
    async getByIdempotencyKey(key) {
      const r = row(byKey.get(key))
      return r ? (dirty.get(r.op.operation_id) ?? r) : null
    },
    async loadLive() {
      return live.all().map((r) => row(r)!)
    },
    async list(filter) {
      flushUpdates()
      const { clause, args } = listWhere(filter)
      const total = (sqlite.prepare(`SELECT COUNT(*) AS n FROM operations ${clause}`).get(...args) as { n: number }).n
      const items = sqlite
        .prepare(`SELECT data FROM operations ${clause} ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?`)
        .all(...args, filter.limit, filter.offset)
        .map((r: any) => JSON.parse(r.data) as Operation)
      return { items, total }
    },
    async purgeFinished(cutoff) {
      // Deferred state changes first: a row the database still shows as failed may have just been
      // resumed (pending again) in memory, and must not be deleted on the strength of a stale status.
      if (updateScheduled || dirty.size) flushUpdates()
      return purge.run(cutoff).changes
    },
  }
}
