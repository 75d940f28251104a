import type { ConsolaInstance } from 'consola'
import type { HeartbeatRequest, HostEvent, HostLogEvent, RegistrationResponse, WorkerRegistration } from '../protocol/index.ts'
import { KtrdrError } from '../protocol/index.ts'
import type { Dispatcher } from './_dispatcher.ts'
import type { HostSecrets } from './_host-secrets.ts'
import type { OperationLogs } from './_logs.ts'
import type { ResolvedGatewayOptions } from './_options.ts'
import { isTerminal, type OperationsService } from './_operations.ts'
import type { StoredOperation } from './_store.ts'
import type { WorkerEntry, WorkerRegistry } from './_workers.ts'

export interface Reconciler {
  /**
   * A host (re-)registers: replays what it finished while the gateway could not be told, re-attaches
   * what it still runs, and answers what it must stop. `stale`: other entries at its endpoint,
   * proven gone (its /health names this id); their work is let go like a lost host's.
   */
  register(body: WorkerRegistration, secret?: string, stale?: WorkerEntry[]): RegistrationResponse
  /** Applies a heartbeat; returns the operations the host must stop. */
  heartbeat(entry: WorkerEntry, body: HeartbeatRequest): string[]
  /** Applies pushed host events (from `workerId`, registered now or not); returns the highest seq to acknowledge. */
  applyEvents(workerId: string, entry: WorkerEntry | undefined, events: Array<HostEvent | HostLogEvent>): number
  /** 403 HOST_SECRET_MISMATCH unless the id's secret, when it has one, is presented. */
  verify(workerId: string, secret: string | undefined): void
  /** Whether the id has an owner (a secret), registered now or not. */
  known(workerId: string): boolean
  /** Forget the id's secret: it may be registered afresh. */
  release(workerId: string): boolean
  /** Resolves once issued, confirmed and forgotten host secrets are committed (await before answering). */
  flushed(): Promise<void>
}

/**
 * Keeps the gateway's idea of "what runs where" and the hosts' idea in agreement: at registration
 * (after either side restarted), on every heartbeat, and when pushed events arrive.
 */
export function createReconciler(deps: {
  options: ResolvedGatewayOptions
  workers: WorkerRegistry
  operations: OperationsService
  dispatcher: Pick<Dispatcher, 'kick'>
  secrets: HostSecrets
  logs: OperationLogs
  logger: ConsolaInstance
  /** The clock (ms) the registry uses. */
  now?: () => number
}): Reconciler {
  const { workers, operations, dispatcher, secrets, logs, logger } = deps
  const now = deps.now ?? Date.now

  /**
   * Whether `attempt` of the operation is placed on `workerId`, the only host whose reports about
   * it count: dispatched there (in flight or accepted), running there by the persisted placement
   * (the gateway restarted and the host has not re-registered yet), or re-queued away from it
   * after it was thought lost (its outcome of that attempt still stands).
   */
  function placedOn(s: StoredOperation, workerId: string, attempt: number, entry: WorkerEntry | undefined): boolean {
    if (entry && entry.running.get(s.op.operation_id) === attempt) return true
    if (s.op.attempts !== attempt) return false
    if (s.op.worker_id !== null) return s.op.worker_id === workerId
    return s.op.status === 'pending' && s.op.metadata.last_worker_id === workerId
  }

  function applyEvents(workerId: string, entry: WorkerEntry | undefined, events: Array<HostEvent | HostLogEvent>): number {
    let acked = 0
    for (const event of [...events].sort((a, b) => a.seq - b.seq)) {
      if (event.seq > acked) acked = event.seq
      const placed = operations.getLive(event.operation_id)
      // Acknowledged but not applied: the host drops it, and its heartbeat learns to stop the run.
      if (placed && !placedOn(placed, workerId, event.attempt, entry)) {
        logger.debug(`Ignoring ${event.type} of ${event.operation_id} attempt ${event.attempt} from ${workerId}: not placed there`)
        continue
      }
      // Lines are kept whatever state the operation is in (they arrive before its terminal event).
      if (event.type === 'log') {
        void logs.append(event).catch((error: Error) => logger.warn(`Storing log lines of ${event.operation_id} failed: ${error.message}`))
        continue
      }
      // The host may report before its 202 reached us: the event itself proves acceptance.
      const dispatch = operations.dispatchOf(event.operation_id)
      if (
        placed &&
        entry &&
        entry.running.get(event.operation_id) === event.attempt &&
        dispatch?.workerId === entry.record.worker_id &&
        dispatch.attempt === event.attempt
      )
        operations.accepted(placed, entry.record.worker_id, event.attempt)
      const outcome = operations.applyEvent(event)
      if (outcome === 'terminal' && entry && entry.running.get(event.operation_id) === event.attempt)
        workers.release(entry, event.operation_id)
    }
    dispatcher.kick()
    return acked
  }

  /**
   * Proof of identity: an id that has a secret is taken only by a caller presenting it. One
   * exception, for a register answer that never arrived (the gateway died before sending it): a
   * secret never presented yet is issued afresh to the same endpoint, but only while no live entry
   * holds the id, so nobody can take it from a registered host before its first heartbeat.
   */
  function claim(body: WorkerRegistration, secret: string | undefined): string | undefined {
    const id = body.worker_id
    const endpoint = body.endpoint_url.replace(/\/+$/, '')
    const verdict = secrets.check(id, secret)
    if (verdict === 'ok') return undefined
    const owner = secrets.owner(id)
    const live = workers.get(id)
    const unclaimed = owner && !owner.confirmed && owner.endpoint_url === endpoint && (!live || live.lost)
    if (verdict === 'none' || unclaimed) return secrets.issue(id, endpoint)
    throw new KtrdrError({
      code: 'WORKER_ID_TAKEN',
      message: `Worker id "${id}" belongs to the host that registered it${owner ? ` from ${owner.endpoint_url}` : ''}, and this registration ${secret ? 'presented a wrong' : 'did not present its'} host secret: a restarted host re-claims its id with the restart token in its cache dir; to give the id to another host, DELETE /api/v1/workers/${id} first`,
      details: { worker_id: id },
    })
  }

  /** Every host call after registration: the id's secret, when it has one, must come with it. */
  function verify(workerId: string, secret: string | undefined): void {
    if (secrets.check(workerId, secret) !== 'wrong') return
    throw new KtrdrError({
      code: 'HOST_SECRET_MISMATCH',
      message: `Missing or wrong host secret for worker "${workerId}": only the host that registered this id may report for it`,
      details: { worker_id: workerId },
    })
  }

  function register(body: WorkerRegistration, secret?: string, stale: WorkerEntry[] = []): RegistrationResponse {
    const issued = claim(body, secret)
    for (const e of stale) {
      workers.markLost(e, `its endpoint ${e.record.endpoint_url} now answers as ${body.worker_id}`)
      workers.remove(e.record.worker_id)
    }
    const previous = workers.get(body.worker_id)
    const before = new Set<string>(previous ? previous.running.keys() : [])
    const entry = workers.register(body)

    // 1. Replay what finished while the gateway could not be told.
    for (const report of body.completed_operations ?? []) {
      const s = operations.getLive(report.operation_id)
      if (!s || isTerminal(s.op) || !placedOn(s, entry.record.worker_id, report.attempt, previous)) continue
      const at = report.completed_at
      const event: HostEvent =
        report.status === 'completed'
          ? {
              seq: Number.MAX_SAFE_INTEGER,
              type: 'completed',
              operation_id: report.operation_id,
              attempt: report.attempt,
              at,
              result: report.result,
            }
          : report.status === 'failed'
            ? {
                seq: Number.MAX_SAFE_INTEGER,
                type: 'failed',
                operation_id: report.operation_id,
                attempt: report.attempt,
                at,
                error: report.error ?? { message: 'Failed while the gateway was unreachable' },
              }
            : {
                seq: Number.MAX_SAFE_INTEGER,
                type: 'cancelled',
                operation_id: report.operation_id,
                attempt: report.attempt,
                at,
                reason: report.error?.message,
              }
      operations.applyEvent(event)
      before.delete(report.operation_id)
    }

    // 2. Re-attach what it still runs; tell it to stop what the gateway already settled.
    const stop: string[] = []
    for (const { operation_id, attempt } of body.running_operations ?? []) {
      const s = operations.getLive(operation_id)
      if (!s || isTerminal(s.op) || attempt < s.op.attempts || (s.op.status === 'running' && attempt !== s.op.attempts)) {
        stop.push(operation_id)
        continue
      }
      // Only the host the attempt was placed on may claim it (anyone else would be reporting for it).
      if (!placedOn(s, entry.record.worker_id, attempt, previous)) {
        stop.push(operation_id)
        continue
      }
      // Already being dispatched elsewhere: that newer placement wins.
      if (operations.isDispatching(operation_id)) {
        stop.push(operation_id)
        continue
      }
      operations.reattach(s, entry.record.worker_id, attempt)
      workers.attach(entry, operation_id, attempt)
      before.delete(operation_id)
    }

    // 3. What the gateway thought ran there and the host no longer knows: the host restarted.
    for (const id of before) {
      const s = operations.getLive(id)
      if (s && s.op.status === 'running') {
        logger.info(`Host ${entry.record.worker_id} re-registered without ${id}; re-queuing it`)
        operations.requeue(s, `Host ${entry.record.worker_id} restarted and no longer runs attempt ${s.op.attempts}`)
      }
    }
    dispatcher.kick()
    logger.info(
      `Worker registered: ${entry.record.worker_id} (${entry.record.worker_type}) at ${entry.record.endpoint_url}, ${entry.record.capabilities.slots} slot(s)`,
    )
    return {
      ...entry.record,
      heartbeat_interval_ms: deps.options.health.heartbeatIntervalMs,
      stop_operations: stop,
      ...(issued ? { host_secret: issued } : {}),
    }
  }

  function heartbeat(entry: WorkerEntry, body: HeartbeatRequest): string[] {
    const wasLost = entry.lost
    workers.heartbeat(entry, body)
    const cancel: string[] = []
    const reported = new Map((body.running_operations ?? []).map((r) => [r.operation_id, r.attempt]))
    for (const [id, attempt] of reported) {
      const s = operations.getLive(id)
      if (!s || isTerminal(s.op)) {
        cancel.push(id)
        continue
      }
      // Dispatch in flight: the host accepted before we saw its 202.
      if (entry.running.get(id) === attempt) continue
      const ours = placedOn(s, entry.record.worker_id, attempt, undefined) && operations.phase(id) !== 'dispatching'
      if (ours) {
        // Still running there although we had let go (host wrongly declared lost): take it back.
        operations.reattach(s, entry.record.worker_id, attempt)
        workers.attach(entry, id, attempt)
        continue
      }
      cancel.push(id)
    }
    // Slots the gateway holds for operations the host no longer runs and that already finished.
    const graceMs = 2 * deps.options.health.heartbeatIntervalMs
    for (const [id] of entry.running) {
      if (reported.has(id)) continue
      const since = entry.dispatchedAt.get(id)
      if (since !== undefined && now() - since < graceMs) continue
      const s = operations.getLive(id)
      if (!s || isTerminal(s.op)) workers.release(entry, id)
    }
    if (wasLost || cancel.length) dispatcher.kick()
    return cancel
  }

  return {
    register,
    heartbeat,
    applyEvents,
    verify,
    known: (workerId) => secrets.owner(workerId) !== null,
    release: (workerId) => secrets.forget(workerId),
    flushed: () => secrets.flushed(),
  }
}
