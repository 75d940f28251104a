import type { Socket } from 'node:net'
import type { ConsolaInstance } from 'consola'
import { errorInfo } from '../protocol/index.ts'
import { DEFINITIVE_NETWORK_ERRORS, type HostClient } from './_host-client.ts'
import type { Dispatcher } from './_dispatcher.ts'
import type { ResolvedGatewayOptions } from './_options.ts'
import type { OperationsService } from './_operations.ts'
import type { WorkerEntry, WorkerRegistry } from './_workers.ts'

/**
 * Liveness, three ways, fastest first:
 * 1. A host's keep-alive connection (its heartbeats) closes → probe it at once. A SIGKILLed
 *    process closes its sockets, and a refused probe is definitive: nothing listens there.
 * 2. A heartbeat overdue (default 2.5 s) → probe it at once.
 * 3. The guide's poll: every 10 s, 5 s timeout, 3 failures → TEMPORARILY_UNAVAILABLE; unavailable
 *    for 300 s (from the moment it became so) → removed.
 * Losing a host re-queues what it held.
 */
export function createHealthMonitor(deps: {
  options: ResolvedGatewayOptions
  workers: WorkerRegistry
  operations: OperationsService
  dispatcher: Dispatcher
  client: HostClient
  logger: ConsolaInstance
}) {
  const { options, workers, client, dispatcher, logger } = deps
  const h = options.health
  const probing = new Set<string>()
  const sockets = new WeakSet<Socket>()
  let pollTimer: NodeJS.Timeout | null = null
  let watchTimer: NodeJS.Timeout | null = null
  let polling = false
  let closed = false

  function lose(entry: WorkerEntry, reason: string) {
    if (closed || workers.get(entry.record.worker_id) !== entry) return
    const wasLost = entry.lost
    workers.markFailure(entry, h.failures, true)
    if (!wasLost) {
      logger.warn(`Host ${entry.record.worker_id} lost: ${reason}`)
      dispatcher.hostLost(entry, reason)
    }
  }

  /** One immediate health call; the verdict matters only if the host is still the same entry. */
  async function probe(entry: WorkerEntry, why: string) {
    const id = entry.record.worker_id
    if (probing.has(id) || entry.lost) return
    probing.add(id)
    try {
      const res = await client.health(entry.record.endpoint_url, h.probeTimeoutMs)
      entry.record.last_health_check = new Date().toISOString()
      if (closed) return
      if (res.status === 200 && res.body?.healthy !== false) {
        entry.lastHeartbeatMs = Date.now()
        workers.markHealthy(entry)
      } else failed(entry, `${why}; health answered HTTP ${res.status}`, false)
      entry.lastHeartbeatMs = Math.max(entry.lastHeartbeatMs, Date.now())
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? ''
      // A refused connection is proof; a timeout only counts as one failed check.
      if (DEFINITIVE_NETWORK_ERRORS.has(code)) lose(entry, `${why}; health probe failed: ${(error as Error).message}`)
      else {
        failed(entry, `${why}; health probe failed: ${(error as Error).message}`, false)
        entry.lastHeartbeatMs = Date.now()
      }
    } finally {
      probing.delete(id)
    }
  }

  async function pollOne(entry: WorkerEntry) {
    try {
      const res = await client.health(entry.record.endpoint_url, h.timeoutMs)
      if (closed) return
      entry.record.last_health_check = new Date().toISOString()
      if (res.status === 200 && res.body?.healthy !== false) {
        const wasLost = entry.lost
        workers.markHealthy(entry)
        if (wasLost) dispatcher.kick()
        return
      }
      failed(entry, `health answered HTTP ${res.status}`, false)
    } catch (error) {
      failed(entry, (error as Error).message, false)
    }
  }

  function failed(entry: WorkerEntry, reason: string, definitive: boolean) {
    if (closed || workers.get(entry.record.worker_id) !== entry) return
    const wasLost = entry.lost
    const down = workers.markFailure(entry, h.failures, definitive)
    if (down && !wasLost) {
      logger.warn(
        `Host ${entry.record.worker_id} is TEMPORARILY_UNAVAILABLE after ${entry.record.health_check_failures} failed health checks (${reason})`,
      )
      dispatcher.hostLost(entry, `${entry.record.health_check_failures} failed health checks: ${reason}`)
    }
  }

  async function poll() {
    if (polling) return
    polling = true
    try {
      const now = Date.now()
      for (const entry of workers.all()) {
        // Counted from the moment it became TEMPORARILY_UNAVAILABLE, as the threshold's name says:
        // counting from its last healthy moment removed it (failures × interval) early, ~280 s in.
        const since = entry.unavailableSinceMs
        if (since !== null && now - since > h.removalMs) {
          logger.info(
            `Removing host ${entry.record.worker_id}: unavailable for more than ${Math.round(h.removalMs / 1000)} s (TEMPORARILY_UNAVAILABLE since ${new Date(since).toISOString()}, ${Math.round((now - since) / 1000)} s ago)`,
          )
          dispatcher.hostLost(entry, 'removed after being unavailable')
          workers.remove(entry.record.worker_id)
        }
      }
      await Promise.all(workers.all().map(pollOne))
    } finally {
      polling = false
    }
  }

  /** Running operations far past their timeout: the host should have failed them; settle them here. */
  function sweepDeadlines(now: number) {
    const grace = options.queue.deadlineGraceMs
    for (const s of deps.operations.live.values()) {
      if (s.op.status !== 'running' || !s.op.timings.placed_at) continue
      const timeoutMs = s.plan.function.timeout_seconds * 1000
      if (now <= Date.parse(s.op.timings.placed_at) + timeoutMs + grace) continue
      const workerId = s.op.worker_id
      logger.warn(
        `Operation ${s.op.operation_id} has no result ${Math.round(grace / 1000)} s after its ${s.plan.function.timeout_seconds} s timeout; failing it`,
      )
      deps.operations.fail(
        s,
        errorInfo(
          'FUNCTION_TIMEOUT',
          `No result from host ${workerId} ${Math.round(grace / 1000)} s after the function's ${s.plan.function.timeout_seconds} s timeout; the gateway failed the operation`,
        ),
      )
      dispatcher.forwardCancel(workerId, s.op.operation_id)
    }
  }

  let lastSweep = 0
  function watch() {
    const now = Date.now()
    if (now - lastSweep >= 1000) {
      lastSweep = now
      sweepDeadlines(now)
    }
    for (const entry of workers.all()) {
      if (!entry.lost && now - entry.lastHeartbeatMs > h.heartbeatTimeoutMs)
        void probe(entry, `no heartbeat for ${now - entry.lastHeartbeatMs} ms`)
    }
  }

  return {
    start() {
      pollTimer = setInterval(() => void poll(), h.intervalMs)
      watchTimer = setInterval(watch, Math.max(50, Math.min(250, Math.floor(h.heartbeatTimeoutMs / 4))))
      pollTimer.unref()
      watchTimer.unref()
    },
    poll,
    probe,
    /** Remember the connection a host heartbeats on; when it closes, check the host right away. */
    trackConnection(entry: WorkerEntry, socket: Socket | undefined) {
      if (!socket || sockets.has(socket)) return
      sockets.add(socket)
      socket.once('close', () => {
        const current = workers.get(entry.record.worker_id)
        if (current && !current.lost) void probe(current, 'its connection closed')
      })
    },
    close() {
      closed = true
      if (pollTimer) clearInterval(pollTimer)
      if (watchTimer) clearInterval(watchTimer)
    },
  }
}

export type HealthMonitor = ReturnType<typeof createHealthMonitor>
