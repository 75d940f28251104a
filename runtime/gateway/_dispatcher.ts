import type { ConsolaInstance } from 'consola'
import type { DispatchRequest } from '../protocol/index.ts'
import { errorInfo, toErrorInfo } from '../protocol/index.ts'
import { placeOperation } from '../scheduler/index.ts'
import type { GatewayHooks } from './_hooks.ts'
import { DEFINITIVE_NETWORK_ERRORS, type HostClient } from './_host-client.ts'
import type { ResolvedGatewayOptions } from './_options.ts'
import type { OperationsService } from './_operations.ts'
import type { StoredOperation } from './_store.ts'
import type { WorkerEntry, WorkerRegistry } from './_workers.ts'

/** How long a host that refused an operation (503) is skipped for that operation. */
const REFUSAL_MS = 1000

export interface Dispatcher {
  /** Something may be placeable now (new operation, freed slot, host joined): one pump per microtask checkpoint. */
  kick(): void
  /** Tell the host running the operation to stop it (best effort; its heartbeat repeats it). */
  forwardCancel(workerId: string | null, operationId: string): void
  close(): void
}

export interface DispatcherDeps {
  options: ResolvedGatewayOptions
  operations: OperationsService
  workers: WorkerRegistry
  hooks: GatewayHooks
  client: HostClient
  logger: ConsolaInstance
  /** The function's secrets, sent with each of its dispatches (and nowhere else). */
  secrets?: (functionName: string) => Record<string, string>
}

/**
 * Moves queued operations onto hosts. `kick()` coalesces every trigger (new operation, freed slot,
 * host joined) into one pump per tick; the pump walks the queue in priority/FIFO order and places
 * what fits with the pure scheduler. Dispatch I/O runs concurrently; a refusal re-queues the
 * operation at its old position and the pump tries the next host.
 *
 * Talks to the health monitor only through hooks: it settles the work of a host on `worker:lost`,
 * pumps again when a host comes back (`worker:status`), and announces a host its dispatch could
 * not reach (`worker:unreachable`).
 */
export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { operations, workers, client, logger, hooks } = deps
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

  function excluded(opId: string, at: number): Set<string> | undefined {
    const map = refusals.get(opId)
    if (!map) return undefined
    const set = new Set<string>()
    for (const [host, until] of map) {
      if (until > at) set.add(host)
      else map.delete(host)
    }
    if (map.size === 0) refusals.delete(opId)
    return set
  }

  function pump() {
    scheduled = false
    if (closed || operations.counts().queued === 0) return
    let free = 0
    for (const view of workers.views) if (view.schedulable) free += Math.max(0, view.slots - view.running)
    if (free === 0) return
    const at = Date.now()
    let waitingOnRefusal = false
    for (const s of operations.nextPending()) {
      const exclude = excluded(s.op.operation_id, at)
      const view = placeOperation(workers.views, s.plan.placement, exclude)
      if (!view) {
        if (exclude?.size) waitingOnRefusal = true
        continue
      }
      dispatch(s, workers.get(view.id)!)
      if (--free === 0) break
    }
    if (waitingOnRefusal && !retryTimer)
      retryTimer = setTimeout(() => {
        retryTimer = null
        kick()
      }, REFUSAL_MS)
  }

  function refuse(s: StoredOperation, worker: WorkerEntry, ours: boolean) {
    let map = refusals.get(s.op.operation_id)
    if (!map) refusals.set(s.op.operation_id, (map = new Map()))
    map.set(worker.record.worker_id, Date.now() + REFUSAL_MS)
    workers.release(worker, s.op.operation_id)
    if (ours) operations.undispatch(s)
    kick()
  }

  function dispatch(s: StoredOperation, worker: WorkerEntry) {
    const opId = s.op.operation_id
    const workerId = worker.record.worker_id
    const attempt = operations.dispatching(s, workerId)
    workers.hold(worker, opId, attempt)
    const fn = s.plan.function
    let secrets: Record<string, string> | undefined
    try {
      secrets = deps.secrets?.(fn.name)
    } catch (error) {
      workers.release(worker, opId)
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
    // Whether this dispatch is still the operation's: not cancelled, not accepted through the host's
    // own events first, not moved on in any other way while the request was in flight.
    const stillOurs = () => {
      const current = operations.dispatchOf(opId)
      return current !== null && current.workerId === workerId && current.attempt === attempt
    }
    client.dispatch(worker.record.endpoint_url, body, deps.options.queue.dispatchTimeoutMs).then(
      (res) => {
        workers.answered(worker, opId)
        const ours = stillOurs()
        if (res.status >= 200 && res.status < 300) {
          refusals.delete(opId)
          if (!ours) {
            // Cancelled while the dispatch was in flight: tell the host to stop it.
            if (s.op.status === 'cancelled' && s.op.attempts < attempt) client.cancel(worker.record.endpoint_url, opId).catch(() => {})
            return
          }
          if (workers.get(workerId) !== worker || worker.lost) {
            // The host was lost while we were talking to it: queue again (if it lives, its heartbeat re-attaches or stops it).
            operations.undispatch(s)
            kick()
            return
          }
          operations.accepted(s, workerId, attempt)
          return
        }
        logger.debug(`Host ${workerId} refused ${opId} (HTTP ${res.status}); trying another host`)
        if (res.status >= 400 && res.status < 500 && res.status !== 409 && res.status !== 429) {
          // The host says the request itself is wrong: retrying elsewhere cannot help.
          workers.release(worker, opId)
          if (ours)
            operations.fail(
              s,
              errorInfo('DISPATCH_REJECTED', `Host ${workerId} rejected the invocation (HTTP ${res.status}): ${JSON.stringify(res.body)}`),
            )
          return
        }
        refuse(s, worker, ours)
      },
      (error: NodeJS.ErrnoException) => {
        workers.answered(worker, opId)
        logger.debug(`Dispatch of ${opId} to ${workerId} failed: ${error.message}`)
        if (!stillOurs()) return
        refuse(s, worker, true)
        if (DEFINITIVE_NETWORK_ERRORS.has(error.code ?? '') || error.code === 'ETIMEDOUT')
          hooks.emit('worker:unreachable', worker.record, `dispatch of ${opId} failed: ${error.message}`)
      },
    )
  }

  /** The host is gone: re-queue (or fail) everything it held. */
  function hostLost(worker: WorkerEntry, reason: string) {
    if (closed) return
    for (const [opId] of workers.releaseAll(worker)) {
      const s = operations.getLive(opId)
      if (!s || s.op.status !== 'running' || s.op.worker_id !== worker.record.worker_id) continue
      const outcome = operations.requeue(s, `Host ${worker.record.worker_id} was lost (${reason})`)
      logger.info(`Operation ${opId} ${outcome === 'requeued' ? 're-queued' : 'failed'}: host ${worker.record.worker_id} lost (${reason})`)
    }
    kick()
  }

  const off = [
    hooks.on('worker:lost', (record, reason) => {
      const entry = workers.get(record.worker_id)
      if (entry?.record === record) hostLost(entry, reason)
    }),
    // Back from TEMPORARILY_UNAVAILABLE (a poll or a heartbeat answered): work may wait for it.
    hooks.on('worker:status', (_record, previous) => {
      if (previous === 'TEMPORARILY_UNAVAILABLE') kick()
    }),
  ]

  return {
    kick,
    forwardCancel(workerId, opId) {
      const worker = workerId ? workers.get(workerId) : undefined
      if (!worker) return
      client
        .cancel(worker.record.endpoint_url, opId)
        .catch((error: Error) => logger.debug(`Cancel of ${opId} on ${workerId} failed: ${error.message}`))
    },
    close() {
      closed = true
      for (const fn of off) fn()
      if (retryTimer) clearTimeout(retryTimer)
    },
  }
}
