import type { Operation, OperationStatus } from '../protocol/index.ts'
import type { GatewayDatabase } from './_db.ts'
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS operations (
  operation_id TEXT PRIMARY KEY,
  operation_type TEXT NOT NULL,
  function_name TEXT NOT NULL,
  status TEXT NOT NULL,
  worker_id TEXT,
  priority INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  idempotency_key TEXT UNIQUE,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  last_event_seq INTEGER NOT NULL DEFAULT 0,
  data TEXT NOT NULL,
  plan TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS operations_status ON operations(status);
CREATE INDEX IF NOT EXISTS operations_type_created ON operations(operation_type, created_at);
CREATE INDEX IF NOT EXISTS operations_created ON operations(created_at);
CREATE INDEX IF NOT EXISTS operations_parent ON operations(json_extract(data, '$.parent_operation_id'));
`

/**
 * Durable operations (and with them the queue: a pending row IS a queue entry). Prepared
 * better-sqlite3 statements: one insert per accepted invocation, one update per state change.
 */
export function createOperationStore(database: GatewayDatabase) {
  const sqlite = database.sqlite
  sqlite.exec(SCHEMA)
  const insert =
    sqlite.prepare(`INSERT INTO operations (operation_id, operation_type, function_name, status, worker_id, priority, seq, idempotency_key, created_at, updated_at, last_event_seq, data, plan)
    VALUES (@operation_id, @operation_type, @function_name, @status, @worker_id, @priority, @seq, @idempotency_key, @created_at, @updated_at, @last_event_seq, @data, @plan)`)
  const update = sqlite.prepare(
    `UPDATE operations SET status = @status, worker_id = @worker_id, priority = @priority, seq = @seq, updated_at = @updated_at, last_event_seq = @last_event_seq, data = @data WHERE operation_id = @operation_id`,
  )
  const byId = sqlite.prepare(`SELECT data, plan, seq, last_event_seq FROM operations WHERE operation_id = ?`)
  const byKey = sqlite.prepare(`SELECT data, plan, seq, last_event_seq FROM operations WHERE idempotency_key = ?`)
  const live = sqlite.prepare(`SELECT data, plan, seq, last_event_seq FROM operations WHERE status IN ('pending', 'running') ORDER BY seq`)
  const maxSeq = sqlite.prepare(`SELECT COALESCE(MAX(seq), 0) AS seq FROM operations`)

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
      failures = commitBatch(batch)
    } catch (error) {
      for (const item of batch) item.reject(error)
      return
    }
    batch.forEach((item, i) => (failures[i] ? item.reject(failures[i]) : item.resolve()))
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
      if (items.length) writeDirty(items)
      for (const w of waiters) w.resolve()
    } catch (error) {
      for (const w of waiters) w.reject(error)
    }
  }

  const row = (r: any): StoredOperation | null =>
    r ? { op: JSON.parse(r.data), plan: JSON.parse(r.plan), seq: r.seq, lastEventSeq: r.last_event_seq } : null
  const params = (s: StoredOperation) => ({
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

  return {
    nextSeq: (maxSeq.get() as { seq: number }).seq,
    insert(s: StoredOperation) {
      insert.run(params(s))
    },
    /** Durable insert, committed together with the other inserts of this event-loop turn. */
    insertBatched(s: StoredOperation): Promise<void> {
      return new Promise((resolve, reject) => {
        if (pending.length === 0) setImmediate(flush)
        pending.push({ s, resolve, reject })
      })
    },
    update(s: StoredOperation) {
      dirty.set(s.op.operation_id, s)
      if (!updateScheduled) {
        updateScheduled = true
        setImmediate(flushUpdates)
      }
    },
    /** Resolves once every update made so far is committed. */
    flushed(): Promise<void> {
      if (!updateScheduled && dirty.size === 0) return Promise.resolve()
      return new Promise((resolve, reject) => {
        flushWaiters.push({ resolve, reject })
      })
    },
    /** Write pending updates now (shutdown). */
    flushNow() {
      if (updateScheduled || dirty.size) flushUpdates()
    },
    get(id: string): StoredOperation | null {
      return dirty.get(id) ?? row(byId.get(id))
    },
    getByIdempotencyKey(key: string): StoredOperation | null {
      const r = row(byKey.get(key))
      return r ? (dirty.get(r.op.operation_id) ?? r) : null
    },
    loadLive(): StoredOperation[] {
      return live.all().map((r) => row(r)!)
    },
    list(filter: OperationListFilter): { items: Operation[]; total: number } {
      flushUpdates()
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
        where.push(`json_extract(data, '$.parent_operation_id') = ?`)
        args.push(filter.parent_operation_id)
      }
      const clause = where.length ? `WHERE ${where.join(' AND ')}` : ''
      const total = (sqlite.prepare(`SELECT COUNT(*) AS n FROM operations ${clause}`).get(...args) as { n: number }).n
      const items = sqlite
        .prepare(`SELECT data FROM operations ${clause} ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?`)
        .all(...args, filter.limit, filter.offset)
        .map((r: any) => JSON.parse(r.data) as Operation)
      return { items, total }
    },
    /** Sha256s referenced by live operations (a version in use is never garbage-collected). */
    liveShas(): Set<string> {
      flushUpdates()
      return new Set(
        (
          sqlite
            .prepare(
              `SELECT DISTINCT json_extract(data, '$.function.sha256') AS sha FROM operations WHERE status IN ('pending', 'running')`,
            )
            .all() as { sha: string }[]
        ).map((r) => r.sha),
      )
    },
  }
}

export type OperationStore = ReturnType<typeof createOperationStore>
