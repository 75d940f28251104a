import type { ConsolaInstance } from 'consola'
import type { HeartbeatRequest, HostEvent, RegistrationResponse, WorkerRegistration } from '../protocol/index.ts'
import type { Dispatcher } from './_dispatcher.ts'
import type { ResolvedGatewayOptions } from './_options.ts'
import { isTerminal, type OperationsService } from './_operations.ts'
import type { WorkerEntry, WorkerRegistry } from './_workers.ts'

/**
 * Keeps the gateway's idea of "what runs where" and the hosts' idea in agreement: at registration
 * (after either side restarted), on every heartbeat, and when pushed events arrive.
 */
export function createReconciler(deps: {
  options: ResolvedGatewayOptions
  workers: WorkerRegistry
  operations: OperationsService
  dispatcher: Dispatcher
  logger: ConsolaInstance
}) {
  const { workers, operations, dispatcher, logger } = deps

  function applyEvents(entry: WorkerEntry | undefined, events: HostEvent[]): number {
    let acked = 0
    for (const event of [...events].sort((a, b) => a.seq - b.seq)) {
      // The host may report before its 202 reached us: the event itself proves acceptance.
      if (entry && entry.running.get(event.operation_id) === event.attempt) {
        const s = operations.live.get(event.operation_id)
        if (s && s.op.status === 'pending' && !operations.queue.has(event.operation_id)) operations.accepted(s, entry.record.worker_id, event.attempt)
      }
      const outcome = operations.applyEvent(event)
      if (outcome === 'terminal' && entry && entry.running.get(event.operation_id) === event.attempt) dispatcher.release(entry, event.operation_id)
      if (event.seq > acked) acked = event.seq
    }
    dispatcher.kick()
    return acked
  }

  function register(body: WorkerRegistration): RegistrationResponse {
    const previous = workers.get(body.worker_id)
    const before = new Set<string>(previous ? previous.running.keys() : [])
    const { entry, evicted } = workers.register(body)
    for (const e of evicted) for (const id of e.running.keys()) before.add(id)

    // 1. Replay what finished while the gateway could not be told.
    for (const report of body.completed_operations ?? []) {
      const s = operations.get(report.operation_id)
      if (!s || isTerminal(s.op) || s.op.attempts !== report.attempt) continue
      const at = report.completed_at
      const event: HostEvent = report.status === 'completed'
        ? { seq: Number.MAX_SAFE_INTEGER, type: 'completed', operation_id: report.operation_id, attempt: report.attempt, at, result: report.result }
        : report.status === 'failed'
          ? { seq: Number.MAX_SAFE_INTEGER, type: 'failed', operation_id: report.operation_id, attempt: report.attempt, at, error: report.error ?? { message: 'Failed while the gateway was unreachable' } }
          : { seq: Number.MAX_SAFE_INTEGER, type: 'cancelled', operation_id: report.operation_id, attempt: report.attempt, at, reason: report.error?.message }
      operations.applyEvent(event)
      before.delete(report.operation_id)
    }

    // 2. Re-attach what it still runs; tell it to stop what the gateway already settled.
    const stop: string[] = []
    for (const { operation_id, attempt } of body.running_operations ?? []) {
      const s = operations.get(operation_id)
      if (!s || isTerminal(s.op) || attempt < s.op.attempts || (s.op.status === 'running' && attempt !== s.op.attempts)) { stop.push(operation_id); continue }
      if (s.op.status === 'running' && s.op.worker_id && s.op.worker_id !== entry.record.worker_id && workers.get(s.op.worker_id)?.running.has(operation_id)) { stop.push(operation_id); continue }
      // Pending but already being dispatched elsewhere: that newer placement wins.
      if (s.op.status === 'pending' && !operations.queue.has(operation_id)) { stop.push(operation_id); continue }
      operations.reattach(s, entry.record.worker_id, attempt)
      entry.running.set(operation_id, attempt)
      before.delete(operation_id)
    }
    workers.refresh(entry)

    // 3. What the gateway thought ran there and the host no longer knows: the host restarted.
    for (const id of before) {
      const s = operations.live.get(id)
      if (s && s.op.status === 'running') {
        logger.info(`Host ${entry.record.worker_id} re-registered without ${id}; re-queuing it`)
        operations.requeue(s, `Host ${entry.record.worker_id} restarted and no longer runs attempt ${s.op.attempts}`)
      }
    }
    dispatcher.kick()
    logger.info(`Worker registered: ${entry.record.worker_id} (${entry.record.worker_type}) at ${entry.record.endpoint_url}, ${entry.record.capabilities.slots} slot(s)`)
    return { ...entry.record, heartbeat_interval_ms: deps.options.health.heartbeatIntervalMs, stop_operations: stop }
  }

  function heartbeat(entry: WorkerEntry, body: HeartbeatRequest): string[] {
    const wasLost = entry.lost
    workers.heartbeat(entry, body)
    const cancel: string[] = []
    const reported = new Map((body.running_operations ?? []).map((r) => [r.operation_id, r.attempt]))
    for (const [id, attempt] of reported) {
      const s = operations.get(id)
      if (!s || isTerminal(s.op)) { cancel.push(id); continue }
      // Dispatch in flight: the host accepted before we saw its 202.
      if (entry.running.get(id) === attempt) continue
      const ours = s.op.attempts === attempt && (s.op.worker_id === entry.record.worker_id || (s.op.status === 'pending' && operations.queue.has(id)))
      if (ours) {
        // Still running there although we had let go (host wrongly declared lost): take it back.
        operations.reattach(s, entry.record.worker_id, attempt)
        entry.running.set(id, attempt)
        continue
      }
      cancel.push(id)
    }
    // Slots the gateway holds for operations the host no longer runs and that already finished.
    const graceMs = 2 * deps.options.health.heartbeatIntervalMs
    for (const [id] of entry.running) {
      if (reported.has(id)) continue
      const since = entry.dispatchedAt.get(id)
      if (since !== undefined && Date.now() - since < graceMs) continue
      const s = operations.get(id)
      if (!s || isTerminal(s.op)) dispatcher.release(entry, id)
    }
    workers.refresh(entry)
    if (wasLost || cancel.length) dispatcher.kick()
    return cancel
  }

  return { register, heartbeat, applyEvents }
}

export type Reconciler = ReturnType<typeof createReconciler>
