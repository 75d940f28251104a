import type { HostEvent, Operation, OperationErrorInfo } from '../protocol/index.ts'
import { KtrdrError } from '../protocol/index.ts'
import { createPendingQueue } from '../scheduler/index.ts'
import type { GatewayHooks } from './_hooks.ts'
import { createOperationId, emptyProgress, isTerminal, normalizeError, normalizeProgress } from './_operation-shape.ts'
import { createOperationWatchers } from './_watchers.ts'
import type { OperationStore, StoredOperation } from './_store.ts'
import type { DispatchPlan } from './_types.ts'
import type { ResolvedFunction } from './registry/_types.ts'

export { createOperationId, isTerminal } from './_operation-shape.ts'
export type { OperationChange } from './_watchers.ts'

export interface CreateOperationInput {
  fn: ResolvedFunction
  input: unknown
  plan: DispatchPlan
  priority: number
  idempotencyKey: string | null
  maxAttempts: number
  metadata?: Record<string, unknown>
}

/**
 * Operation state machine. Live operations (pending, running) stay in memory and are written
 * through to SQLite on every transition; finished ones are read back from SQLite on demand.
 * A pending row is a queue entry: the in-memory queue is rebuilt from the rows at start.
 */
export function createOperationsService(store: OperationStore, hooks: GatewayHooks) {
  const live = new Map<string, StoredOperation>()
  const watchers = createOperationWatchers(hooks, (id) => service.get(id))
  const queue = createPendingQueue<{ id: string; priority: number; seq: number }>()
  let seq = store.nextSeq

  const touch = (s: StoredOperation) => {
    s.op.updated_at = new Date().toISOString()
  }
  const save = (s: StoredOperation) => {
    touch(s)
    store.update(s)
  }

  function finish(
    s: StoredOperation,
    status: 'completed' | 'failed' | 'cancelled',
    patch: { result?: unknown; error?: OperationErrorInfo | null; at?: string },
  ) {
    const at = patch.at ?? new Date().toISOString()
    s.op.status = status
    if (patch.result !== undefined) s.op.result = patch.result
    if (patch.error !== undefined) s.op.error = patch.error
    if (status === 'completed') s.op.progress = { ...s.op.progress, percentage: 100 }
    s.op.completed_at = at
    s.op.timings.finished_at = at
    queue.remove(s.op.operation_id)
    live.delete(s.op.operation_id)
    save(s)
    hooks.emit('operation:finished', s.op)
  }

  const service = {
    live,
    queue,

    async create(input: CreateOperationInput): Promise<Operation> {
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
        max_attempts: input.maxAttempts,
        priority: input.priority,
        idempotency_key: input.idempotencyKey,
        placement: { prefer_gpu: input.plan.placement.preferGpu, require_gpu: input.plan.placement.requireGpu },
        created_at: iso,
        started_at: null,
        completed_at: null,
        updated_at: iso,
        timings: { queued_at: iso, placed_at: null, bundle_ready_at: null, started_at: null, finished_at: null },
        metadata: input.metadata ?? {},
      }
      const s: StoredOperation = { op, plan: input.plan, seq: ++seq, lastEventSeq: 0 }
      try {
        await store.insertBatched(s)
      } catch (error) {
        if (input.idempotencyKey && /UNIQUE/.test(String(error))) {
          throw new KtrdrError({
            statusCode: 409,
            code: 'IDEMPOTENCY_CONFLICT',
            retryable: true,
            message: `idempotency_key "${input.idempotencyKey}" is being used by a concurrent request: retry to get its operation`,
            cause: error,
          })
        }
        throw error
      }
      live.set(op.operation_id, s)
      queue.push({ id: op.operation_id, priority: op.priority, seq: s.seq })
      hooks.emit('operation:created', op)
      return op
    },

    get(id: string): StoredOperation | null {
      return live.get(id) ?? store.get(id)
    },

    require(id: string): StoredOperation {
      const s = service.get(id)
      if (!s)
        throw new KtrdrError({
          statusCode: 404,
          code: 'OPERATION_NOT_FOUND',
          retryable: false,
          message: `Operation "${id}" does not exist: list operations with GET /api/v1/operations`,
        })
      return s
    },

    byIdempotencyKey(key: string): StoredOperation | null {
      return store.getByIdempotencyKey(key)
    },

    /** Placement chosen; the operation stays pending until the host accepts (not persisted yet). */
    placing(s: StoredOperation, _workerId: string): number {
      queue.remove(s.op.operation_id)
      s.op.timings.placed_at = new Date().toISOString()
      return s.op.attempts + 1
    },

    /** The host refused or could not be reached: back into the queue at its old position. */
    unplace(s: StoredOperation) {
      if (s.op.status === 'pending' && live.has(s.op.operation_id))
        queue.push({ id: s.op.operation_id, priority: s.op.priority, seq: s.seq })
    },

    /** The host accepted (202): the operation is running there as `attempt`. */
    accepted(s: StoredOperation, workerId: string, attempt: number) {
      s.op.status = 'running'
      s.op.worker_id = workerId
      s.op.attempts = attempt
      s.op.error = null
      s.lastEventSeq = 0
      s.op.started_at ??= new Date().toISOString()
      save(s)
      hooks.emit('operation:updated', s.op)
    },

    /** A host claims it runs this operation (after a gateway restart or a late report). */
    reattach(s: StoredOperation, workerId: string, attempt: number) {
      queue.remove(s.op.operation_id)
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

    /**
     * Apply one pushed host event. Idempotent by (operation_id, attempt, seq): events of an older
     * attempt or already applied are ignored. Returns whether the event ended the attempt (slot freed).
     */
    applyEvent(event: HostEvent): 'applied' | 'ignored' | 'terminal' {
      const s = service.get(event.operation_id)
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
            error: { message: event.reason ?? 'Cancelled on the host', code: 'CANCELLED', retryable: false },
            at: event.at,
          })
          return 'terminal'
      }
    },

    /** Host lost while running: queue again, or fail once attempts are used up. */
    requeue(s: StoredOperation, reason: string): 'requeued' | 'failed' {
      if (isTerminal(s.op)) return 'failed'
      if (s.op.attempts >= s.op.max_attempts) {
        finish(s, 'failed', {
          error: {
            message: `${reason}; attempt ${s.op.attempts}/${s.op.max_attempts} was the last: resume it with POST /api/v1/operations/${s.op.operation_id}/resume`,
            code: 'HOST_LOST',
            retryable: true,
          },
        })
        return 'failed'
      }
      s.op.status = 'pending'
      s.op.worker_id = null
      s.op.progress = emptyProgress()
      // Who ran the attempt: only that host may still report its outcome or take it back.
      s.op.metadata = { ...s.op.metadata, last_requeue_reason: reason, last_worker_id: s.op.worker_id }
      s.op.timings = { queued_at: new Date().toISOString(), placed_at: null, bundle_ready_at: null, started_at: null, finished_at: null }
      save(s)
      queue.push({ id: s.op.operation_id, priority: s.op.priority, seq: s.seq })
      hooks.emit('operation:requeued', s.op, reason)
      return 'requeued'
    },

    cancel(s: StoredOperation, reason: string) {
      if (isTerminal(s.op)) {
        throw new KtrdrError({
          statusCode: 400,
          code: 'OPERATION_FINISHED',
          retryable: false,
          message: `Operation ${s.op.operation_id} is already ${s.op.status}; only pending or running operations can be cancelled`,
        })
      }
      finish(s, 'cancelled', { error: { message: reason, code: 'CANCELLED', retryable: false } })
    },

    fail(s: StoredOperation, error: OperationErrorInfo) {
      if (!isTerminal(s.op)) finish(s, 'failed', { error })
    },

    /** Cancelled or failed → pending again as a new attempt; functions find checkpoints by operation id. */
    resume(s: StoredOperation): Operation {
      if (s.op.status !== 'cancelled' && s.op.status !== 'failed') {
        throw new KtrdrError({
          statusCode: 409,
          code: 'NOT_RESUMABLE',
          retryable: false,
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
      s.op.timings = { queued_at: new Date().toISOString(), placed_at: null, bundle_ready_at: null, started_at: null, finished_at: null }
      live.set(s.op.operation_id, s)
      save(s)
      queue.push({ id: s.op.operation_id, priority: s.op.priority, seq: s.seq })
      hooks.emit('operation:updated', s.op)
      return s.op
    },

    /** After a restart: live rows back into memory; pending ones back into the queue. */
    load(): StoredOperation[] {
      const rows = store.loadLive()
      for (const s of rows) {
        live.set(s.op.operation_id, s)
        if (s.op.status === 'pending') queue.push({ id: s.op.operation_id, priority: s.op.priority, seq: s.seq })
      }
      return rows
    },

    watch: watchers.watch,
    waitFor: watchers.waitFor,
    /** Resolves with the operation once finished, or with its current state after `ms`. */
    waitFinished: (id: string, ms: number, signal?: AbortSignal) => watchers.waitFor(id, ms, isTerminal, signal),

    list: store.list,
    /** Resolves once every state change so far is committed (await before acknowledging one). */
    flushed: () => store.flushed(),
    flushNow: () => store.flushNow(),
  }
  return service
}

export type OperationsService = ReturnType<typeof createOperationsService>
