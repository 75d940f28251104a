import type { ConsolaInstance } from 'consola'
import type { DispatchRequest } from '../protocol/index.ts'
import { errorInfo, toErrorInfo } from '../protocol/index.ts'
import { placeOperation } from '../scheduler/index.ts'
import { DEFINITIVE_NETWORK_ERRORS, type HostClient } from './_host-client.ts'
import type { ResolvedGatewayOptions } from './_options.ts'
import type { OperationsService } from './_operations.ts'
import type { StoredOperation } from './_store.ts'
import type { WorkerEntry, WorkerRegistry } from './_workers.ts'

/** How long a host that refused an operation (503) is skipped for that operation. */
const REFUSAL_MS = 1000

/**
 * Moves queued operations onto hosts. `kick()` coalesces every trigger (new operation, freed slot,
 * host joined) into one pump per tick; the pump walks the queue in priority/FIFO order and places
 * what fits with the pure scheduler. Dispatch I/O runs concurrently; a refusal re-queues the
 * operation at its old position and the pump tries the next host.
 */
export function createDispatcher(deps: {
  options: ResolvedGatewayOptions
  operations: OperationsService
  workers: WorkerRegistry
  client: HostClient
  logger: ConsolaInstance
  /** Called when a dispatch hit a connection error: the health module probes the host now. */
  onUnreachable: (entry: WorkerEntry) => void
  /** The function's secrets, sent with each of its dispatches (and nowhere else). */
  secrets?: (functionName: string) => Record<string, string>
}) {
  const { operations, workers, client, logger } = deps
  const refusals = new Map<string, Map<string, number>>()
  let scheduled = false
  let retryTimer: NodeJS.Timeout | null = null
  let closed = false

  function kick() {
    if (scheduled || closed) return
    scheduled = true
    // A microtask, not setImmediate: still one pump for a whole group-committed batch (their
    // continuations run in the same microtask checkpoint) without waiting a loop turn.
    queueMicrotask(pump)
  }

  function excluded(opId: string, now: number): Set<string> | undefined {
    const map = refusals.get(opId)
    if (!map) return undefined
    const set = new Set<string>()
    for (const [host, until] of map) {
      if (until > now) set.add(host)
      else map.delete(host)
    }
    if (map.size === 0) refusals.delete(opId)
    return set
  }

  function pump() {
    scheduled = false
    if (closed || operations.queue.size === 0) return
    let free = 0
    for (const view of workers.views) if (view.schedulable) free += Math.max(0, view.slots - view.running)
    if (free === 0) return
    const now = Date.now()
    let waitingOnRefusal = false
    for (const entry of operations.queue.ordered()) {
      const s = operations.live.get(entry.id)
      if (!s || s.op.status !== 'pending') {
        operations.queue.remove(entry.id)
        continue
      }
      const exclude = excluded(entry.id, now)
      const view = placeOperation(workers.views, s.plan.placement, exclude)
      if (!view) {
        if (exclude?.size) waitingOnRefusal = true
        continue
      }
      const worker = workers.get(view.id)!
      dispatch(s, worker)
      if (--free === 0) break
    }
    if (waitingOnRefusal && !retryTimer)
      retryTimer = setTimeout(() => {
        retryTimer = null
        kick()
      }, REFUSAL_MS)
  }

  function release(worker: WorkerEntry, opId: string) {
    worker.running.delete(opId)
    worker.dispatchedAt.delete(opId)
    workers.refresh(worker)
  }

  function refuse(s: StoredOperation, worker: WorkerEntry) {
    let map = refusals.get(s.op.operation_id)
    if (!map) refusals.set(s.op.operation_id, (map = new Map()))
    map.set(worker.record.worker_id, Date.now() + REFUSAL_MS)
    release(worker, s.op.operation_id)
    operations.unplace(s)
    kick()
  }

  function dispatch(s: StoredOperation, worker: WorkerEntry) {
    const opId = s.op.operation_id
    const attempt = operations.placing(s, worker.record.worker_id)
    // Reserve the slot before any I/O so the same pump does not over-commit the host.
    worker.running.set(opId, attempt)
    worker.dispatchedAt.set(opId, Date.now())
    workers.select(worker)
    workers.refresh(worker)
    const fn = s.plan.function
    let secrets: Record<string, string> | undefined
    try {
      secrets = deps.secrets?.(fn.name)
    } catch (error) {
      release(worker, opId)
      operations.fail(s, toErrorInfo(error))
      return
    }
    const body: DispatchRequest = {
      operation_id: opId,
      attempt,
      function: fn,
      input: s.op.input,
      deadline_ms: Date.now() + fn.timeout_seconds * 1000,
      ...(secrets && Object.keys(secrets).length ? { secrets } : {}),
    }
    client.dispatch(worker.record.endpoint_url, body, deps.options.queue.dispatchTimeoutMs).then(
      (res) => {
        worker.dispatchedAt.delete(opId)
        if (res.status >= 200 && res.status < 300) {
          refusals.delete(opId)
          if (s.op.status === 'cancelled' && s.op.attempts < attempt) {
            // Cancelled while the dispatch was in flight: tell the host to stop it.
            client.cancel(worker.record.endpoint_url, opId).catch(() => {})
            return
          }
          // Its events may have arrived first and already moved it on (running, or even finished).
          if (s.op.status !== 'pending' || s.op.attempts >= attempt) return
          if (workers.get(worker.record.worker_id) !== worker || worker.lost) {
            // The host was lost while we were talking to it: queue again (if it lives, its heartbeat re-attaches or stops it).
            operations.unplace(s)
            kick()
            return
          }
          operations.accepted(s, worker.record.worker_id, attempt)
          return
        }
        logger.debug(`Host ${worker.record.worker_id} refused ${opId} (HTTP ${res.status}); trying another host`)
        if (res.status >= 400 && res.status < 500 && res.status !== 409 && res.status !== 429) {
          // The host says the request itself is wrong: retrying elsewhere cannot help.
          release(worker, opId)
          operations.fail(
            s,
            errorInfo(
              'DISPATCH_REJECTED',
              `Host ${worker.record.worker_id} rejected the invocation (HTTP ${res.status}): ${JSON.stringify(res.body)}`,
            ),
          )
          return
        }
        refuse(s, worker)
      },
      (error: NodeJS.ErrnoException) => {
        worker.dispatchedAt.delete(opId)
        logger.debug(`Dispatch of ${opId} to ${worker.record.worker_id} failed: ${error.message}`)
        if (s.op.status !== 'pending') return
        refuse(s, worker)
        if (DEFINITIVE_NETWORK_ERRORS.has(error.code ?? '') || error.code === 'ETIMEDOUT') deps.onUnreachable(worker)
      },
    )
  }

  /** The host is gone: re-queue (or fail) everything it held. */
  function hostLost(worker: WorkerEntry, reason: string) {
    if (closed) return
    const held = [...worker.running.keys()]
    worker.running.clear()
    worker.dispatchedAt.clear()
    workers.refresh(worker)
    for (const opId of held) {
      const s = operations.live.get(opId)
      if (!s || s.op.status !== 'running' || s.op.worker_id !== worker.record.worker_id) continue
      const outcome = operations.requeue(s, `Host ${worker.record.worker_id} was lost (${reason})`)
      logger.info(`Operation ${opId} ${outcome === 'requeued' ? 're-queued' : 'failed'}: host ${worker.record.worker_id} lost (${reason})`)
    }
    kick()
  }

  /** Forward a cancel to the host running the operation (best effort; the heartbeat repeats it). */
  function forwardCancel(workerId: string | null, opId: string) {
    const worker = workerId ? workers.get(workerId) : undefined
    if (!worker) return
    client
      .cancel(worker.record.endpoint_url, opId)
      .catch((error: Error) => logger.debug(`Cancel of ${opId} on ${workerId} failed: ${error.message}`))
  }

  return {
    kick,
    hostLost,
    release,
    forwardCancel,
    close() {
      closed = true
      if (retryTimer) clearTimeout(retryTimer)
    },
  }
}

export type Dispatcher = ReturnType<typeof createDispatcher>
