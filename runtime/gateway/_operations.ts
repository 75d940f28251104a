import type { HostEvent, Operation, OperationErrorInfo } from '../protocol/index.ts'
import { KtrdrError, errorInfo } from '../protocol/index.ts'
import { createPendingQueue } from '../scheduler/index.ts'
import type { GatewayHooks } from './_hooks.ts'
import { createOperationId, emptyProgress, isOperationIdTaken, isTerminal, normalizeError, normalizeProgress } from './_operation-shape.ts'
import { createOperationWatchers } from './_watchers.ts'
import type { OperationListFilter, OperationStore, StoredOperation } from './_store.ts'
import type { DispatchPlan } from './_types.ts'
import type { ResolvedFunction } from './registry/_types.ts'

export { createOperationId, isTerminal } from './_operation-shape.ts'
export type { OperationChange } from './_watchers.ts'
import type { OperationChange } from './_watchers.ts'

export interface CreateOperationInput {
  fn: ResolvedFunction
  input: unknown
  /** Carries the attempt budget too: `max_attempts` starts at `plan.attempt_budget`. */
  plan: DispatchPlan
  priority: number
  idempotencyKey: string | null
  metadata?: Record<string, unknown>
  parentOperationId?: string | null
  /**
   * The caller waits for the outcome and tells no one of the operation before `written` resolves: it
   * is queued at once and its row written with the first commit that follows (where the store can,
   * OperationStore.insertLater), so a call that ends within the write window writes its row once.
   */
  writeLater?: boolean
}

/**
 * Where a live operation stands in the gateway. `queued` and `dispatching` are both `pending` to
 * callers: the operation does not run yet. `dispatching`: placed on a host, waiting for its answer.
 */
export type OperationPhase = 'queued' | 'dispatching' | 'running'

/** Live operations by phase; O(1), for /health, list envelopes and metrics. */
export interface OperationCounts {
  queued: number
  dispatching: number
  running: number
  /** All three together: what `active_count` reports. */
  live: number
}

/** The dispatch under way: which host was asked to run which attempt. */
export interface OperationDispatch {
  workerId: string
  attempt: number
}

export type OperationWatcher = (kind: OperationChange, op: Operation) => void

/**
 * The one owner of operation state. Live operations (queued, dispatching, running) are in memory
 * and written through to the store on every transition; finished ones are read back on demand.
 * Everything else reads through these methods and changes state only through the transitions.
 */
export interface OperationsService {
  /**
   * Accept an invocation: committed before it resolves, then queued; with `writeLater`, queued at
   * once and committed later. `written` resolves after the insert's commit with the operation as it
   * wrote it (the body of an accept answered at once); whoever tells anyone of the operation awaits
   * it first.
   */
  create(input: CreateOperationInput): Promise<{ op: Operation; written: Promise<string> }>
  get(id: string): Promise<StoredOperation | null>
  /** Like `get`, or 404 OPERATION_NOT_FOUND. */
  require(id: string): Promise<StoredOperation>
  byIdempotencyKey(key: string): Promise<StoredOperation | null>
  list(filter: OperationListFilter): Promise<{ items: Operation[]; total: number }>

  /** A live operation, or null: finished ones are only in the store. */
  getLive(id: string): StoredOperation | null
  /** Every live operation (deadline sweeps, bundles in use). */
  liveOperations(): IterableIterator<StoredOperation>
  /** Queued operations in dispatch order: higher priority first, FIFO within a priority. */
  nextPending(): Generator<StoredOperation>
  phase(id: string): OperationPhase | null
  isDispatching(id: string): boolean
  /** The dispatch under way for `id`, or null when it is not being dispatched. */
  dispatchOf(id: string): OperationDispatch | null
  counts(): OperationCounts

  /** queued → dispatching to `workerId`; returns the attempt being dispatched. */
  dispatching(s: StoredOperation, workerId: string): number
  /** dispatching → queued at its old position (the host refused, could not be reached, or was lost meanwhile). */
  undispatch(s: StoredOperation): void
  /** dispatching → running: the host accepted `attempt`. */
  accepted(s: StoredOperation, workerId: string, attempt: number): void
  /** A host claims it runs `attempt` (after a gateway restart, or a host wrongly thought lost). */
  reattach(s: StoredOperation, workerId: string, attempt: number): void
  /**
   * One pushed host event. Idempotent by (operation_id, attempt, seq): events of an older attempt
   * or already applied are ignored. `terminal`: the event ended the attempt (its slot is free).
   */
  applyEvent(event: HostEvent): 'applied' | 'ignored' | 'terminal'
  /** running → queued again after its host was lost, or failed once its attempts are used up. */
  requeue(s: StoredOperation, reason: string): 'requeued' | 'failed'
  /** 409 OPERATION_FINISHED when already finished. */
  cancel(s: StoredOperation, reason: string): void
  fail(s: StoredOperation, error: OperationErrorInfo): void
  /** Live (pending or running) operations whose parent is `id`, and theirs, depth first (cancel cascades). */
  liveDescendants(id: string): StoredOperation[]
  /** Cancelled or failed → queued again as a new attempt with a fresh attempt budget. */
  resume(s: StoredOperation): Operation
  /** After a restart or a takeover: live rows back into memory, pending ones into the queue. */
  load(): Promise<StoredOperation[]>

  watch(id: string, fn: OperationWatcher): () => void
  /** Resolves once `done(op)` holds, or with the current state after `ms`. */
  waitFor(id: string, ms: number, done: (op: Operation) => boolean, signal?: AbortSignal): Promise<Operation>
  /** Resolves with the operation once finished, or with its current state after `ms`. */
  waitFinished(id: string, ms: number, signal?: AbortSignal): Promise<Operation>
  /**
   * Resolves once every state change so far is committed (await before acknowledging one), or with
   * `ids` every change of those operations.
   */
  flushed(ids?: Iterable<string>): Promise<void>
  flushNow(): Promise<void>
  purgeFinished(cutoff: string): Promise<number>
}

/**
 * Each live operation is in exactly one phase: in the queue, in `dispatches`, or `running` by its
 * status. A pending row is a queue entry: the queue is rebuilt from the rows at start.
 */
export function createOperationsService(store: OperationStore, hooks: GatewayHooks): OperationsService {
  const live = new Map<string, StoredOperation>()
  // Live operations are in memory; anything else is finished (or unknown) and read from the store.
  const watchers = createOperationWatchers(
    hooks,
    (id) => live.get(id) ?? null,
    (id) => store.get(id),
  )
  const queue = createPendingQueue<{ id: string; priority: number; seq: number }>()
  const dispatches = new Map<string, OperationDispatch>()
  let seq = store.nextSeq

  const touch = (s: StoredOperation) => {
    s.op.updated_at = new Date().toISOString()
  }
  const save = (s: StoredOperation) => {
    touch(s)
    store.update(s)
  }
  const enqueue = (s: StoredOperation) => queue.push({ id: s.op.operation_id, priority: s.op.priority, seq: s.seq })
  const freshTimings = (at = new Date().toISOString()): Operation['timings'] => ({
    queued_at: at,
    placed_at: null,
    bundle_ready_at: null,
    started_at: null,
    finished_at: null,
  })

  function finish(
    s: StoredOperation,
    status: 'completed' | 'failed' | 'cancelled',
    patch: { result?: unknown; error?: OperationErrorInfo | null; at?: string },
  ) {
    // One instant, in the REST API's completed_at and in this attempt's timings.
    const at = patch.at ?? new Date().toISOString()
    s.op.status = status
    if (patch.result !== undefined) s.op.result = patch.result
    if (patch.error !== undefined) s.op.error = patch.error
    if (status === 'completed') s.op.progress = { ...s.op.progress, percentage: 100 }
    s.op.completed_at = at
    s.op.timings.finished_at = at
    queue.remove(s.op.operation_id)
    dispatches.delete(s.op.operation_id)
    live.delete(s.op.operation_id)
    save(s)
    hooks.emit('operation:finished', s.op)
  }

  /** Committed before it resolves, with the JSON written; an id another process took is drawn again. */
  async function insertNow(s: StoredOperation, input: CreateOperationInput, now: Date): Promise<string> {
    const op = s.op
    for (let attempt = 1; ; attempt++) {
      try {
        return await store.insertBatched(s)
      } catch (error) {
        // Drawn by another gateway process in the same second (a restart, the standby taking
        // over): nothing was stored under it, so a new id from a new random start.
        if (isOperationIdTaken(error) && attempt < 3) {
          op.operation_id = createOperationId(op.operation_type, now, { redraw: true })
          continue
        }
        if (input.idempotencyKey && !isOperationIdTaken(error) && /UNIQUE|unique constraint/.test(String(error))) {
          throw new KtrdrError({
            code: 'IDEMPOTENCY_KEY_BUSY',
            message: `idempotency_key "${input.idempotencyKey}" is being used by a concurrent request: retry to get its operation`,
            cause: error,
          })
        }
        throw error
      }
    }
  }

  /** Left for a later commit (OperationStore.insertLater); the promise resolves after it. */
  function insertLater(s: StoredOperation, now: Date): Promise<string> {
    const op = s.op
    let written = store.insertLater!(s)
    for (let attempt = 1; !written; attempt++) {
      if (attempt >= 3) throw new Error(`Operation ids drawn for ${op.operation_type} are taken: ${op.operation_id}`)
      op.operation_id = createOperationId(op.operation_type, now, { redraw: true })
      written = store.insertLater!(s)
    }
    // The caller awaits it before answering; marked handled so a caller that left does not leave an
    // unhandled rejection behind.
    written.catch(() => {})
    return written
  }

  const phase = (id: string): OperationPhase | null => {
    const s = live.get(id)
    if (!s) return null
    if (s.op.status === 'running') return 'running'
    return dispatches.has(id) ? 'dispatching' : 'queued'
  }

  const service: OperationsService = {
    async create(input) {
      const now = new Date()
      const iso = now.toISOString()
      const manifest = input.fn.manifest
      const op: Operation = {
        operation_id: createOperationId(manifest.operation_type || input.fn.name, now),
        operation_type: manifest.operation_type || input.fn.name,
        status: 'pending',
        function: { name: input.fn.name, version: input.fn.version, sha256: input.fn.sha256, requested: input.fn.requested },
        input: input.input,
        progress: emptyProgress(),
        result: null,
        error: null,
        worker_id: null,
        attempts: 0,
        max_attempts: input.plan.attempt_budget,
        priority: input.priority,
        idempotency_key: input.idempotencyKey,
        placement: { prefer_gpu: input.plan.placement.preferGpu, require_gpu: input.plan.placement.requireGpu },
        created_at: iso,
        started_at: null,
        completed_at: null,
        updated_at: iso,
        timings: freshTimings(iso),
        metadata: input.metadata ?? {},
        parent_operation_id: input.parentOperationId ?? null,
      }
      const s: StoredOperation = { op, plan: input.plan, seq: ++seq, lastEventSeq: 0 }
      const written = input.writeLater && store.insertLater ? insertLater(s, now) : Promise.resolve(await insertNow(s, input, now))
      live.set(op.operation_id, s)
      enqueue(s)
      hooks.emit('operation:created', op)
      return { op, written }
    },

    getLive: (id) => live.get(id) ?? null,
    liveOperations: () => live.values(),
    *nextPending() {
      for (const entry of queue.ordered()) {
        const s = live.get(entry.id)
        if (s && s.op.status === 'pending' && !dispatches.has(entry.id)) yield s
        else queue.remove(entry.id)
      }
    },
    phase,
    isDispatching: (id) => dispatches.has(id),
    dispatchOf: (id) => dispatches.get(id) ?? null,
    counts() {
      const queued = queue.size
      const dispatching = dispatches.size
      return { queued, dispatching, running: live.size - queued - dispatching, live: live.size }
    },

    async get(id) {
      const s = live.get(id) ?? (await store.get(id))
      // It may have become live (resumed) while the store was read.
      return live.get(id) ?? s
    },

    async require(id) {
      const s = await service.get(id)
      if (!s)
        throw new KtrdrError({
          code: 'OPERATION_NOT_FOUND',
          message: `Operation "${id}" does not exist: list operations with GET /api/v1/operations`,
        })
      return s
    },

    async byIdempotencyKey(key) {
      const s = await store.getByIdempotencyKey(key)
      return s ? (live.get(s.op.operation_id) ?? s) : null
    },

    dispatching(s, workerId) {
      const id = s.op.operation_id
      queue.remove(id)
      const attempt = s.op.attempts + 1
      dispatches.set(id, { workerId, attempt })
      // Not persisted yet: a restart finds the row pending and queues it again.
      s.op.timings.placed_at = new Date().toISOString()
      return attempt
    },

    undispatch(s) {
      if (dispatches.delete(s.op.operation_id)) enqueue(s)
    },

    accepted(s, workerId, attempt) {
      dispatches.delete(s.op.operation_id)
      s.op.status = 'running'
      s.op.worker_id = workerId
      s.op.attempts = attempt
      s.op.error = null
      s.lastEventSeq = 0
      s.op.started_at ??= new Date().toISOString()
      save(s)
      hooks.emit('operation:updated', s.op)
    },

    reattach(s, workerId, attempt) {
      queue.remove(s.op.operation_id)
      dispatches.delete(s.op.operation_id)
      const changed = s.op.status !== 'running' || s.op.worker_id !== workerId || s.op.attempts !== attempt
      if (!changed) return
      if (s.op.attempts !== attempt) s.lastEventSeq = 0
      s.op.status = 'running'
      s.op.worker_id = workerId
      s.op.attempts = attempt
      s.op.started_at ??= new Date().toISOString()
      save(s)
      hooks.emit('operation:updated', s.op)
    },

    applyEvent(event) {
      const s = live.get(event.operation_id)
      const endsAttempt = event.type === 'completed' || event.type === 'failed' || event.type === 'cancelled'
      if (!s) return endsAttempt ? 'terminal' : 'ignored'
      if (event.attempt !== s.op.attempts || event.seq <= s.lastEventSeq || isTerminal(s.op)) return endsAttempt ? 'terminal' : 'ignored'
      s.lastEventSeq = event.seq
      switch (event.type) {
        case 'started':
          s.op.timings.started_at = event.at
          if (event.bundle_ready_at) s.op.timings.bundle_ready_at = event.bundle_ready_at
          if (event.accepted_at) s.op.timings.accepted_at = event.accepted_at
          s.op.started_at ??= event.at
          save(s)
          hooks.emit('operation:updated', s.op)
          return 'applied'
        case 'progress':
          s.op.progress = normalizeProgress(event.progress, s.op.progress)
          save(s)
          hooks.emit('operation:updated', s.op)
          return 'applied'
        case 'completed':
          finish(s, 'completed', { result: event.result ?? null, error: null, at: event.at })
          return 'terminal'
        case 'failed':
          finish(s, 'failed', { error: normalizeError(event.error), at: event.at })
          return 'terminal'
        case 'cancelled':
          // A host that shuts down hands its work back: like a lost host, the operation runs again
          // elsewhere (checkpoints make a training continue), within its attempt budget.
          if (event.requeue) {
            service.requeue(
              s,
              `${s.op.worker_id ? `Host ${s.op.worker_id}` : 'The host'} shut down while running it (${event.reason ?? 'shutdown'})`,
            )
            return 'terminal'
          }
          finish(s, 'cancelled', {
            error: errorInfo('CANCELLED', event.reason ?? 'Cancelled on the host'),
            at: event.at,
          })
          return 'terminal'
      }
    },

    requeue(s, reason) {
      if (isTerminal(s.op)) return 'failed'
      // Queued or being dispatched already: that attempt ended before, the operation is on its way again.
      if (s.op.status !== 'running') return 'requeued'
      if (s.op.attempts >= s.op.max_attempts) {
        finish(s, 'failed', {
          error: errorInfo(
            'HOST_LOST',
            `${reason}; attempt ${s.op.attempts}/${s.op.max_attempts} was the last: resume it with POST /api/v1/operations/${s.op.operation_id}/resume`,
          ),
        })
        return 'failed'
      }
      // Who ran the attempt (read before it is cleared): only that host may still report its outcome or take it back.
      s.op.metadata = { ...s.op.metadata, last_requeue_reason: reason, last_worker_id: s.op.worker_id }
      s.op.status = 'pending'
      s.op.worker_id = null
      s.op.progress = emptyProgress()
      s.op.timings = freshTimings()
      save(s)
      enqueue(s)
      hooks.emit('operation:requeued', s.op, reason)
      return 'requeued'
    },

    cancel(s, reason) {
      if (isTerminal(s.op)) {
        throw new KtrdrError({
          code: 'OPERATION_FINISHED',
          message: `Operation ${s.op.operation_id} is already ${s.op.status}; only pending or running operations can be cancelled`,
        })
      }
      finish(s, 'cancelled', { error: errorInfo('CANCELLED', reason) })
    },

    liveDescendants(id) {
      const out: StoredOperation[] = []
      const walk = (parent: string, depth: number) => {
        if (depth > 16) return
        for (const s of live.values())
          if (s.op.parent_operation_id === parent) {
            out.push(s)
            walk(s.op.operation_id, depth + 1)
          }
      }
      walk(id, 0)
      return out
    },

    fail(s, error) {
      if (!isTerminal(s.op)) finish(s, 'failed', { error })
    },

    // Functions find their checkpoints by operation id: a resumed training continues.
    resume(found) {
      // Read from the store before an await: a concurrent resume may have made it live meanwhile.
      const s = live.get(found.op.operation_id) ?? found
      if (s.op.status !== 'cancelled' && s.op.status !== 'failed') {
        throw new KtrdrError({
          code: 'NOT_RESUMABLE',
          message: `Operation ${s.op.operation_id} is ${s.op.status}: only cancelled or failed operations can be resumed`,
        })
      }
      s.op.metadata = { ...s.op.metadata, resumed_from_attempt: s.op.attempts, resumed_from_status: s.op.status }
      s.op.status = 'pending'
      s.op.error = null
      s.op.result = null
      s.op.worker_id = null
      s.op.completed_at = null
      s.op.max_attempts = s.op.attempts + s.plan.attempt_budget
      s.op.timings = freshTimings()
      live.set(s.op.operation_id, s)
      save(s)
      enqueue(s)
      hooks.emit('operation:updated', s.op)
      return s.op
    },

    async load() {
      const rows = await store.loadLive()
      for (const s of rows) {
        live.set(s.op.operation_id, s)
        if (s.op.status === 'pending') enqueue(s)
      }
      return rows
    },

    watch: watchers.watch,
    waitFor: watchers.waitFor,
    waitFinished: (id, ms, signal) => watchers.waitFor(id, ms, isTerminal, signal),

    list: (filter) => store.list(filter),
    flushed: (ids) => store.flushed(ids),
    flushNow: () => store.flushNow(),
    purgeFinished: (cutoff) => store.purgeFinished(cutoff),
  }
  return service
}
