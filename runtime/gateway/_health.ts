import type { Socket } from 'node:net'
import type { ConsolaInstance } from 'consola'
import type { GatewayHooks } from './_hooks.ts'
import { DEFINITIVE_NETWORK_ERRORS, type HostClient } from './_host-client.ts'
import type { ResolvedGatewayOptions } from './_options.ts'
import type { WorkerEntry, WorkerRegistry } from './_workers.ts'

export interface HealthMonitor {
  /** Starts the poll (every `health.intervalMs`) and the heartbeat watch (a fraction of `heartbeatTimeoutMs`). */
  start(): void
  /** One round of the guide's poll: removes hosts unavailable for `removalMs`, then checks every host. */
  poll(): Promise<void>
  /** One immediate health call; a refused connection loses the host at once. */
  probe(entry: WorkerEntry, why: string): Promise<void>
  /** Probes every host whose heartbeat is overdue. */
  watch(): void
  /** Remember the connection a host heartbeats on; when it closes, check the host right away. */
  trackConnection(entry: WorkerEntry, socket: Socket | undefined): void
  close(): void
}

export interface HealthMonitorDeps {
  options: ResolvedGatewayOptions
  workers: WorkerRegistry
  hooks: GatewayHooks
  client: HostClient
  logger: ConsolaInstance
  /** The clock (ms); the registry must use the same one. */
  now?: () => number
}

/**
 * Liveness, three ways, fastest first:
 * 1. A host's keep-alive connection (its heartbeats) closes → probe it at once. A SIGKILLed
 *    process closes its sockets, and a refused probe is definitive: nothing listens there.
 * 2. A heartbeat overdue (default 2.5 s) → probe it at once.
 * 3. The guide's poll: every 10 s, 5 s timeout, 3 failures → TEMPORARILY_UNAVAILABLE; unavailable
 *    for 300 s (from the moment it became so) → removed.
 * A host found dead is marked lost in the registry, which emits `worker:lost`; the dispatcher
 * settles its work. A dispatch that cannot reach a host (`worker:unreachable`) triggers a probe.
 */
export function createHealthMonitor(deps: HealthMonitorDeps): HealthMonitor {
  const { options, workers, client, logger, hooks } = deps
  const now = deps.now ?? Date.now
  const h = options.health
  const probing = new Set<string>()
  const sockets = new WeakSet<Socket>()
  let pollTimer: NodeJS.Timeout | null = null
  let watchTimer: NodeJS.Timeout | null = null
  let polling = false
  let closed = false

  const current = (entry: WorkerEntry) => !closed && workers.get(entry.record.worker_id) === entry

  function lose(entry: WorkerEntry, reason: string) {
    if (!current(entry)) return
    workers.markFailure(entry, h.failures, true)
    if (!entry.lost) logger.warn(`Host ${entry.record.worker_id} lost: ${reason}`)
    workers.markLost(entry, reason)
  }

  function failed(entry: WorkerEntry, reason: string) {
    if (!current(entry)) return
    const down = workers.markFailure(entry, h.failures, false)
    if (down && !entry.lost) {
      logger.warn(
        `Host ${entry.record.worker_id} is TEMPORARILY_UNAVAILABLE after ${entry.record.health_check_failures} failed health checks (${reason})`,
      )
      workers.markLost(entry, `${entry.record.health_check_failures} failed health checks: ${reason}`)
    }
  }

  async function probe(entry: WorkerEntry, why: string) {
    const id = entry.record.worker_id
    if (probing.has(id) || entry.lost) return
    probing.add(id)
    try {
      const res = await client.health(entry.record.endpoint_url, h.probeTimeoutMs)
      entry.record.last_health_check = new Date(now()).toISOString()
      if (closed) return
      if (res.status === 200 && res.body?.healthy !== false) {
        entry.lastHeartbeatMs = now()
        workers.markHealthy(entry)
      } else failed(entry, `${why}; health answered HTTP ${res.status}`)
      entry.lastHeartbeatMs = Math.max(entry.lastHeartbeatMs, now())
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? ''
      // A refused connection is proof; a timeout only counts as one failed check.
      if (DEFINITIVE_NETWORK_ERRORS.has(code)) lose(entry, `${why}; health probe failed: ${(error as Error).message}`)
      else {
        failed(entry, `${why}; health probe failed: ${(error as Error).message}`)
        entry.lastHeartbeatMs = now()
      }
    } finally {
      probing.delete(id)
    }
  }

  async function pollOne(entry: WorkerEntry) {
    try {
      const res = await client.health(entry.record.endpoint_url, h.timeoutMs)
      if (closed) return
      entry.record.last_health_check = new Date(now()).toISOString()
      // Back from TEMPORARILY_UNAVAILABLE, the registry's worker:status wakes the dispatcher.
      if (res.status === 200 && res.body?.healthy !== false) workers.markHealthy(entry)
      else failed(entry, `health answered HTTP ${res.status}`)
    } catch (error) {
      failed(entry, (error as Error).message)
    }
  }

  async function poll() {
    if (polling) return
    polling = true
    try {
      const at = now()
      for (const entry of workers.all()) {
        // Counted from the moment it became TEMPORARILY_UNAVAILABLE, as the threshold's name says:
        // counting from its last healthy moment removed it (failures × interval) early, ~280 s in.
        const since = entry.unavailableSinceMs
        if (since !== null && at - since > h.removalMs) {
          logger.info(
            `Removing host ${entry.record.worker_id}: unavailable for more than ${Math.round(h.removalMs / 1000)} s (TEMPORARILY_UNAVAILABLE since ${new Date(since).toISOString()}, ${Math.round((at - since) / 1000)} s ago)`,
          )
          workers.markLost(entry, 'removed after being unavailable')
          workers.remove(entry.record.worker_id)
        }
      }
      await Promise.all(workers.all().map(pollOne))
    } finally {
      polling = false
    }
  }

  const missed = new WeakMap<WorkerEntry, number>()
  function watch() {
    const at = now()
    for (const entry of workers.all()) {
      if (entry.lost || at - entry.lastHeartbeatMs <= h.heartbeatTimeoutMs) continue
      // Once per silence, however many watch ticks it lasts (metrics count them).
      if (missed.get(entry) !== entry.lastHeartbeatMs) {
        missed.set(entry, entry.lastHeartbeatMs)
        hooks.emit('worker:heartbeat-missed', entry.record)
      }
      void probe(entry, `no heartbeat for ${at - entry.lastHeartbeatMs} ms`)
    }
  }

  const offUnreachable = hooks.on('worker:unreachable', (record, reason) => {
    const entry = workers.get(record.worker_id)
    if (entry?.record === record) void probe(entry, `${reason}; dispatch could not reach it`)
  })

  return {
    start() {
      pollTimer = setInterval(() => void poll(), h.intervalMs)
      watchTimer = setInterval(watch, Math.max(50, Math.min(250, Math.floor(h.heartbeatTimeoutMs / 4))))
      pollTimer.unref()
      watchTimer.unref()
    },
    poll,
    probe,
    watch,
    trackConnection(entry, socket) {
      if (!socket || sockets.has(socket)) return
      sockets.add(socket)
      socket.once('close', () => {
        const live = workers.get(entry.record.worker_id)
        if (live && !live.lost) void probe(live, 'its connection closed')
      })
    },
    close() {
      closed = true
      offUnreachable()
      if (pollTimer) clearInterval(pollTimer)
      if (watchTimer) clearInterval(watchTimer)
    },
  }
}
