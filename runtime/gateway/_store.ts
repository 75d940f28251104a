import type { Operation, OperationStatus } from '../protocol/index.ts'
import type { GatewayDatabase, SqliteGatewayDatabase } from './_db.ts'
import type { WriteFence } from './_fence.ts'
import { OPERATIONS_SCHEMA } from './_schema.ts'
import {
  keyIndexMigration,
  listWhere,
  PARENT_INDEX,
  parentMigration,
  PURGE_SQL,
  rowToStored,
  storedToParams,
  storedToUpdateParams,
} from './_store-rows.ts'
import type { DispatchPlan } from './_types.ts'
import { createWriteSchedule } from './_write-schedule.ts'

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
 * are deferred (written at the end of the turn once someone awaits `flushed()`, otherwise within
 * the write window, _write-schedule.ts) and `flushed()` resolves once they are committed.
 */
export interface OperationStore {
  /** Highest seq stored when the store was opened. */
  nextSeq: number
  /**
   * Durable insert, committed together with the other inserts of this event-loop turn. Resolves
   * after the commit with the operation's JSON as written (its `data`): the accept's answer reuses
   * that text instead of serializing the operation again.
   */
  insertBatched(s: StoredOperation): Promise<string>
  /**
   * An insert nobody has been told about yet (its caller waits for the outcome): written by the first
   * commit that flushes its operation, or when the write window ends, with the operation's state at
   * that commit, so a call that ends within the window writes its row once. Resolves after that
   * commit, like insertBatched.
   * Returns null, writing nothing, when the id is taken (draw another). Absent where the store cannot
   * tell at once (PostgreSQL): callers use insertBatched.
   */
  insertLater?(s: StoredOperation): Promise<string> | null
  update(s: StoredOperation): void
  /**
   * Resolves once every update made so far is committed, or with `ids` those of these operations
   * (and their inserts left for later); a store may write more.
   */
  flushed(ids?: Iterable<string>): Promise<void>
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

export interface OperationStoreOptions {
  /** How long a state change nobody waits for may wait for a commit (_write-schedule.ts); tests set it. */
  writeWindowMs?: number
}

/** The store for the gateway's database; `fence` (PostgreSQL) is the leader epoch every write checks. */
export async function createOperationStore(
  database: GatewayDatabase,
  fence?: WriteFence,
  options: OperationStoreOptions = {},
): Promise<OperationStore> {
  if (database.dialect === 'postgresql') {
    const { createPostgresOperationStore } = await import('./_store-postgres.ts')
    return createPostgresOperationStore(database, fence, options)
  }
  return createSqliteOperationStore(database, options)
}

/**
 * SQLite: prepared better-sqlite3 statements, one insert per accepted invocation, one update per
 * state change, synchronous underneath (the async signatures cost one microtask).
 */
function createSqliteOperationStore(database: SqliteGatewayDatabase, options: OperationStoreOptions): OperationStore {
  const sqlite = database.sqlite
  sqlite.transaction(() => {
    sqlite.exec(OPERATIONS_SCHEMA)
    const hasColumn = (sqlite.prepare(`PRAGMA table_info(operations)`).all() as Array<{ name: string }>).some(
      (c) => c.name === 'parent_operation_id',
    )
    const hasOldIndex = !!sqlite.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'operations_parent'`).get()
    // The table's one UNIQUE constraint (origin 'u') was the idempotency key's, before KEY_INDEX.
    const columnUnique = !!sqlite.prepare(`SELECT 1 FROM pragma_index_list('operations') WHERE origin = 'u'`).get()
    sqlite.exec(parentMigration('sqlite', { hasColumn, hasOldIndex }) + PARENT_INDEX + keyIndexMigration('sqlite', { columnUnique }))
  })()
  const insert =
    sqlite.prepare(`INSERT INTO operations (operation_id, operation_type, function_name, status, worker_id, priority, seq, idempotency_key, created_at, updated_at, last_event_seq, data, plan, parent_operation_id)
    VALUES (@operation_id, @operation_type, @function_name, @status, @worker_id, @priority, @seq, @idempotency_key, @created_at, @updated_at, @last_event_seq, @data, @plan, @parent_operation_id)`)
  const update = sqlite.prepare(
    `UPDATE operations SET status = @status, worker_id = @worker_id, priority = @priority, seq = @seq, updated_at = @updated_at, last_event_seq = @last_event_seq, data = @data WHERE operation_id = @operation_id`,
  )
  const byId = sqlite.prepare(`SELECT data, plan, seq, last_event_seq FROM operations WHERE operation_id = ?`)
  const idTaken = sqlite.prepare(`SELECT 1 FROM operations WHERE operation_id = ?`).pluck()
  const byKey = sqlite.prepare(`SELECT data, plan, seq, last_event_seq FROM operations WHERE idempotency_key = ?`)
  const live = sqlite.prepare(`SELECT data, plan, seq, last_event_seq FROM operations WHERE status IN ('pending', 'running') ORDER BY seq`)
  const maxSeq = sqlite.prepare(`SELECT COALESCE(MAX(seq), 0) AS seq FROM operations`)
  const purge = sqlite.prepare(PURGE_SQL)
  // The end of the last second in which an earlier gateway may have drawn operation ids (insertLater).
  const latest = sqlite.prepare(`SELECT MAX(created_at) FROM operations`).pluck().get() as string | null
  const opened = new Date().toISOString()
  const idHorizon = `${(latest && latest > opened ? latest : opened).slice(0, 19)}.999Z`
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

  // Group commit: the inserts of one event-loop turn and the state changes made meanwhile share one
  // transaction (one WAL append), and each insert answers only after that commit, so acceptance
  // stays durable at a fraction of the cost. State changes are written latest-first per operation:
  // at the end of the turn when someone waits for them (`flushed()`), otherwise within the write
  // window (_write-schedule.ts), with the first commit that writes everything. Whoever acknowledges
  // a change to someone else (an event ack to a host, a cancel to a client) awaits `flushed()`
  // first, so nothing acknowledged can be lost; `flushed(ids)` writes only those operations' rows,
  // so the rows of other calls still under way wait for their own end, and a short call is written
  // once (its insert, finished) instead of an insert and an update.
  type Insert = { s: StoredOperation; resolve: (json: string) => void; reject: (e: unknown) => void }
  let pending: Insert[] = []
  // insertLater's rows, by operation id: written when their operation is flushed or the window ends.
  const held = new Map<string, Insert>()
  const dirty = new Map<string, StoredOperation>()
  // Operations a waiter asked for since the last commit, and whether one asked for everything.
  const due = new Set<string>()
  let wantAll = false
  let flushWaiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = []
  // Per insert: the JSON written, or the error that refused the row.
  const commitTurn = sqlite.transaction((batch: Insert[], items: StoredOperation[]) => {
    const outcomes: Array<{ json: string } | { error: unknown }> = []
    for (const item of batch) {
      try {
        const row = params(item.s)
        insert.run(row)
        outcomes.push({ json: row.data })
      } catch (error) {
        outcomes.push({ error })
      }
    }
    for (const item of items) update.run(updateParams(item))
    return outcomes
  })
  /** `all`: the window ended, or a waiter asked for everything; otherwise only what is due. */
  const commit = (all = true) => {
    all ||= wantAll
    wantAll = false
    const batch = pending
    pending = []
    let items: StoredOperation[]
    if (all) {
      schedule.taken()
      for (const item of held.values()) batch.push(item)
      held.clear()
      // An insert writes the operation's state as it is now: a change held for it is in that row.
      for (const item of batch) dirty.delete(item.s.op.operation_id)
      items = [...dirty.values()]
      dirty.clear()
    } else {
      items = []
      for (const id of due) {
        const later = held.get(id)
        if (later) {
          held.delete(id)
          batch.push(later)
        }
        const s = dirty.get(id)
        if (s) {
          dirty.delete(id)
          if (!later) items.push(s)
        }
      }
      // What stays is written when the window ends (the timer armed when it was first held).
      if (held.size || dirty.size) schedule.later()
      else schedule.taken()
    }
    due.clear()
    const waiters = flushWaiters
    flushWaiters = []
    if (batch.length === 0 && items.length === 0) {
      // Nothing left to write; an earlier commit may still await its fsync (KTRDR_DB_SYNC=full).
      if (waiters.length) (wal && synced < committed ? durable() : Promise.resolve()).then(() => waiters.forEach((w) => w.resolve()))
      return
    }
    let outcomes: ReturnType<typeof commitTurn>
    try {
      outcomes = hot(() => commitTurn(batch, items))
    } catch (error) {
      for (const item of batch) item.reject(error)
      for (const w of waiters) w.reject(error)
      return
    }
    const answer = () => {
      batch.forEach((item, i) => {
        const outcome = outcomes[i]!
        if ('json' in outcome) item.resolve(outcome.json)
        else item.reject(outcome.error)
      })
      for (const w of waiters) w.resolve()
    }
    if (!wal || (batch.length === 0 && waiters.length === 0)) return answer()
    durable().then(answer, (error) => {
      for (const item of batch) item.reject(error)
      for (const w of waiters) w.reject(error)
    })
  }
  const schedule = createWriteSchedule(commit, options.writeWindowMs)

  const row = rowToStored
  const params = storedToParams
  const updateParams = storedToUpdateParams

  return {
    nextSeq: (maxSeq.get() as { seq: number }).seq,
    insertBatched(s) {
      return new Promise((resolve, reject) => {
        pending.push({ s, resolve, reject })
        schedule.soon()
      })
    },
    insertLater(s) {
      // One gateway per database file (_lock.ts), and this process draws the ids of a second counting
      // up from one start: only an earlier process can have taken one, in a second up to when this
      // store opened (or the latest row's, should the clock have gone back). Ids of later seconds
      // are not looked up: the lookup was 4 % of the gateway's busy time on no-op calls at c=16.
      if (s.op.created_at <= idHorizon && idTaken.get(s.op.operation_id)) return null
      // An id that is free now stays free until this insert.
      return new Promise((resolve, reject) => {
        held.set(s.op.operation_id, { s, resolve, reject })
        schedule.later()
      })
    },
    update(s) {
      dirty.set(s.op.operation_id, s)
      schedule.later()
    },
    flushed(ids) {
      if (ids) {
        for (const id of ids) if (dirty.has(id) || held.has(id)) due.add(id)
        if (due.size === 0 && pending.length === 0) return wal && synced < committed ? durable() : Promise.resolve()
      } else {
        if (dirty.size === 0 && pending.length === 0 && held.size === 0) return wal && synced < committed ? durable() : Promise.resolve()
        wantAll = true
      }
      return new Promise((resolve, reject) => {
        flushWaiters.push({ resolve, reject })
        schedule.soon()
      })
    },
    async flushNow() {
      if (dirty.size || pending.length || held.size) commit()
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
      if (dirty.size || pending.length || held.size) commit()
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
      if (dirty.size || pending.length || held.size) commit()
      return purge.run(cutoff).changes
    },
  }
}
