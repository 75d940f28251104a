import { randomBytes } from 'node:crypto'
import { cancelOperationTree, type GatewayRouteContext } from '../../runtime/gateway/index.ts'
import type { Operation } from '../../runtime/protocol/index.ts'
import { KtrdrError } from '../../trading/index.ts'
import { hostSlots } from './_admit.ts'
import { createParentStore } from './_store.ts'
import type { ChildTask, ParentRecord, ParentSpec, ParentStatus } from './_types.ts'

export type { ChildTask, ParentRecord, ParentSpec, ParentStatus } from './_types.ts'

const TERMINAL: ReadonlySet<ParentStatus> = new Set(['completed', 'failed', 'cancelled'])
const isDone = (op: Operation) => op.status === 'completed' || op.status === 'failed' || op.status === 'cancelled'

/** `op_<kind>_YYYYMMDD_HHMMSS_xxxxxxxx`, the operation id format (docs/domain.md#operation-statuses). */
export function parentId(kind: string, at: Date, hex: string): string {
  const s = at.toISOString()
  return `op_${kind}_${s.slice(0, 10).replace(/-/g, '')}_${s.slice(11, 19).replace(/:/g, '')}_${hex}`
}

/** The base fields of a new parent; its kind adds the rest. */
export type NewParent<R extends ParentRecord> = Omit<R, keyof ParentRecord>

/**
 * Runs fan-out parents of one kind: each is a row of `research_parents` whose tasks run as child
 * operations (`parent_operation_id`) through the gateway's invoker, spread over the hosts by the
 * runtime's queue. A task's child is started with the idempotency key `<parent>:<task>`, its result
 * read once it finishes (pushed by the operation's watcher, nothing polls), and the row written once
 * per step (docs/decisions.md#one-parent-row-write-per-step); a restarted gateway reloads live
 * parents and goes on from what the rows say, so a finished child is never run again and a child
 * started after the last write is found again by its key rather than started twice. Cancel marks
 * the parent, then cascades to its live children; a child that fails in a way the kind cannot
 * accept fails the parent, which cancels the children still running.
 */
export async function createParentRunner<R extends ParentRecord>(ctx: GatewayRouteContext, spec: ParentSpec<R>) {
  const store = await createParentStore<R>(ctx.database.sql, spec.kind)
  const live = new Map<string, R>()
  /** parent → child → unsubscribe. */
  const watching = new Map<string, Map<string, () => void>>()
  const busy = new Map<string, Promise<unknown>>()
  const listeners = new Map<string, Set<(record: R) => void>>()
  let closed = false

  const terminal = (r: R) => TERMINAL.has(r.status)

  async function save(record: R) {
    await store.save(record)
    for (const fn of listeners.get(record.operation_id) ?? []) fn(record)
  }

  /** Runs `fn` after whatever this parent is doing: one step (or cancel) at a time per parent. */
  function serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const next = (busy.get(id) ?? Promise.resolve()).then(fn)
    const settled = next.catch(() => {})
    busy.set(id, settled)
    void settled.finally(() => {
      if (busy.get(id) === settled) busy.delete(id)
    })
    return next
  }

  function schedule(id: string) {
    void serial(id, () => drive(id)).catch((error: Error) => ctx.logger.error(`${spec.kind} ${id} failed to advance: ${error.message}`))
  }

  /** Wakes the parent when this child finishes; a child that finished before the watch was set wakes it at once. */
  function follow(record: R, childId: string) {
    let mine = watching.get(record.operation_id)
    if (!mine) watching.set(record.operation_id, (mine = new Map()))
    if (!mine.has(childId))
      mine.set(
        childId,
        ctx.operations.watch(childId, (kind) => {
          if (kind === 'finished') schedule(record.operation_id)
        }),
      )
    if (!ctx.operations.getLive(childId)) schedule(record.operation_id)
  }

  function unfollow(parent: string, childId?: string) {
    const mine = watching.get(parent)
    if (!mine) return
    for (const [id, off] of mine)
      if (childId === undefined || id === childId) {
        off()
        mine.delete(id)
      }
    if (!mine.size) watching.delete(parent)
  }

  async function drive(id: string) {
    const record = live.get(id)
    if (!record || closed || terminal(record)) return
    const started = performance.now()
    let changed: boolean
    try {
      changed = await step(record)
    } catch (error) {
      // Cut off by the database closing under it (the gateway is stopping): the next gateway resumes here.
      if (closed) return
      await fail(record, error as Error & { code?: string })
      return
    }
    record.orchestration_ms += performance.now() - started
    // One row write per step, whatever it started and read; a wake-up that found nothing new writes none.
    if (changed && !terminal(record)) await save(record)
  }

  async function startChild(record: R, task: ChildTask): Promise<Operation> {
    const result = await ctx.invoke(
      task.fn,
      {
        input: task.input,
        idempotency_key: `${record.operation_id}:${task.key}`,
        parent_operation_id: record.operation_id,
        metadata: { parent_kind: spec.kind, task: task.key, ...task.metadata },
      },
      // The kind admitted these inputs when it accepted the parent (strategy, data, the function's
      // schema); the packs' checks would read storage again per child (4.3 of 7.3 ms per fold in the
      // walk-forward bench), and the host refuses what they would, failing the child with the same code.
      { checks: false },
    )
    // Not written here but once at the end of the step: the child's operation row, with its key, is
    // committed before invoke returns, and a gateway that stops before the step's write starts the
    // same task again on restart (tasks() lists it until it is started) and gets this child back.
    record.children[task.key] = result.operation.operation_id
    return result.operation
  }

  /** Reads what finished and starts what may start, until nothing more does; true when the record changed. */
  async function step(record: R): Promise<boolean> {
    let dirty = false
    for (;;) {
      let changed = false
      // Read the children that finished (a restarted gateway finds here what ended while it was down).
      for (const [key, childId] of Object.entries(record.children)) {
        if (key in record.settled) continue
        const stored = await ctx.operations.get(childId)
        if (!stored)
          throw new KtrdrError({
            code: 'OPERATION_NOT_FOUND',
            message: `The child ${childId} (${key}) of ${record.operation_id} no longer exists`,
          })
        if (!isDone(stored.op)) {
          follow(record, childId)
          continue
        }
        unfollow(record.operation_id, childId)
        await spec.settle(record, key, stored.op)
        record.settled[key] = stored.op.status
        changed = true
      }
      if (Object.keys(record.settled).length >= spec.total(record)) {
        await spec.complete(record)
        if (terminal(record)) return true
        record.status = 'completed'
        record.completed_at = new Date().toISOString()
        await save(record)
        finish(record)
        return true
      }
      const limit = spec.parallel(record) ?? hostSlots(ctx)
      let running = Object.keys(record.children).filter((k) => !(k in record.settled)).length
      // Pulled only while a slot is free: a parent at its limit builds no task.
      const tasks = spec.tasks(record)[Symbol.iterator]()
      while (running < limit && !closed && !terminal(record)) {
        const next = tasks.next()
        if (next.done) break
        const task = next.value
        if (task.key in record.children) continue
        const op = await startChild(record, task)
        dirty = true
        running++
        if (isDone(op)) changed = true
        else follow(record, op.operation_id)
      }
      if (!changed) return dirty
      dirty = true
    }
  }

  function finish(record: R) {
    live.delete(record.operation_id)
    unfollow(record.operation_id)
    // Followers of the parent's stream get the final state from save(); nothing more will come.
    listeners.delete(record.operation_id)
  }

  async function fail(record: R, error: Error & { code?: string }) {
    if (terminal(record)) return
    record.status = 'failed'
    record.error = { message: error.message, ...(error.code ? { code: error.code } : {}) }
    record.completed_at = new Date().toISOString()
    await save(record)
    cancelOperationTree(ctx, record.operation_id, `${spec.kind} ${record.operation_id} failed: ${error.message}`)
    await ctx.operations.flushed()
    finish(record)
  }

  function notFound(id: string) {
    return new KtrdrError({
      code: 'OPERATION_NOT_FOUND',
      message: `No ${spec.kind} "${id}": list them with GET /api/v1/${spec.kind === 'walkforward' ? 'walkforward' : `${spec.kind}s`}`,
      details: { field: 'operation_id' },
    })
  }

  async function get(id: string): Promise<R> {
    const record = live.get(id) ?? (await store.get(id))
    if (!record) throw notFound(id)
    return record
  }

  // Live parents back into memory after a restart: each goes on from what its row says.
  for (const record of await store.live()) live.set(record.operation_id, record)
  for (const id of live.keys()) schedule(id)
  // A host that registers may take more of a parent's children (its slots count toward the limit).
  const offRegistered = ctx.hooks.on('worker:registered', () => {
    for (const id of live.keys()) schedule(id)
  })

  return {
    kind: spec.kind,
    /** Accepts a parent: its row is written before anything starts, then its first children are started. */
    async start(build: (operationId: string) => NewParent<R>): Promise<R> {
      const now = new Date()
      const operationId = parentId(spec.kind, now, randomBytes(4).toString('hex'))
      const record = {
        operation_id: operationId,
        operation_type: spec.kind,
        status: 'running',
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
        started_at: now.toISOString(),
        completed_at: null,
        children: {},
        settled: {},
        error: null,
        orchestration_ms: 0,
        ...build(operationId),
      } as R
      live.set(record.operation_id, record)
      await save(record)
      schedule(record.operation_id)
      return record
    },
    get,
    list: (filter: { status?: ParentStatus[]; limit: number; offset: number }) => store.list(filter),
    /** Cancels the parent (after the step it may be in), then every live child under it. */
    cancel(id: string, reason: string): Promise<{ record: R; cancelled: string[] }> {
      return serial(id, async () => {
        const record = await get(id)
        if (terminal(record))
          throw new KtrdrError({
            code: 'OPERATION_FINISHED',
            message: `${record.operation_id} is already ${record.status}; only a running ${spec.kind} can be cancelled`,
          })
        record.status = 'cancelled'
        record.error = { message: reason, code: 'CANCELLED' }
        record.completed_at = new Date().toISOString()
        await save(record)
        const cancelled = cancelOperationTree(ctx, id, reason)
        await ctx.operations.flushed()
        finish(record)
        return { record, cancelled }
      })
    },
    /** Share of the tasks settled, with the running children's own progress counted in. */
    progress(record: R): { percentage: number; settled: number; total: number; running: number } {
      const total = Math.max(1, spec.total(record))
      const settled = Object.keys(record.settled).length
      if (record.status === 'completed') return { percentage: 100, settled, total, running: 0 }
      let partial = 0
      let running = 0
      for (const [key, childId] of Object.entries(record.children)) {
        if (key in record.settled) continue
        const op = ctx.operations.getLive(childId)?.op
        if (op?.status === 'running') {
          running++
          partial += op.progress.percentage / 100
        }
      }
      return { percentage: Math.round(((settled + partial) / total) * 1000) / 10, settled, total, running }
    },
    /** Each saved state of a live parent, until it ends (its last state included). Returns the unsubscribe. */
    subscribe(id: string, fn: (record: R) => void): () => void {
      let set = listeners.get(id)
      if (!set) listeners.set(id, (set = new Set()))
      set.add(fn)
      return () => {
        set!.delete(fn)
        if (!set!.size && listeners.get(id) === set) listeners.delete(id)
      }
    },
    isLive: (id: string) => live.has(id),
    /** Resolves once no parent has a step under way (tests, benches). */
    async idle() {
      while (busy.size) await Promise.all(busy.values())
    },
    close() {
      closed = true
      offRegistered()
      for (const id of watching.keys()) unfollow(id)
      listeners.clear()
    },
  }
}

export type ParentRunner<R extends ParentRecord> = Awaited<ReturnType<typeof createParentRunner<R>>>
