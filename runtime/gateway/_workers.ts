import type { HeartbeatRequest, WorkerRecord, WorkerRegistration, WorkerStatus } from '../protocol/index.ts'
import { KtrdrError } from '../protocol/index.ts'
import type { HostView } from '../scheduler/index.ts'
import type { GatewayHooks } from './_hooks.ts'

/** One registered host: the public record plus the scheduler's view and liveness bookkeeping. */
export interface WorkerEntry {
  record: WorkerRecord
  view: HostView
  /**
   * The host's occupied slots (operation id → attempt): dispatched there and not seen to end. Not
   * the operations' placement: a slot outlives an operation cancelled while the host still runs it.
   * Changed only through the registry (hold, attach, release, loss).
   */
  readonly running: ReadonlyMap<string, number>
  /** Dispatch started at (ms), so a heartbeat built before the dispatch landed does not drop it. */
  readonly dispatchedAt: ReadonlyMap<string, number>
  lastHeartbeatMs: number
  lastHealthyMs: number
  unavailableSinceMs: number | null
  /** Set while the host is considered dead (its work was re-queued); cleared when it talks again. */
  lost: boolean
}

export interface WorkerRegistry {
  /** The scheduler's view of every host, in registration order. */
  readonly views: readonly HostView[]
  get(id: string): WorkerEntry | undefined
  /** 404 WORKER_NOT_FOUND when not registered. */
  require(id: string): WorkerEntry
  all(): WorkerEntry[]
  /** Other entries registered with this endpoint URL. */
  atEndpoint(endpointUrl: string, except: string): WorkerEntry[]
  /** Register or re-register (a fresh entry, no slots held). */
  register(body: WorkerRegistration): WorkerEntry
  heartbeat(entry: WorkerEntry, body: HeartbeatRequest): void
  /** Recompute derived fields (status, free slots) after a change made outside the registry (drain). */
  refresh(entry: WorkerEntry): void
  summary(): { total_workers: number; available: number; busy: number; temporarily_unavailable: number }

  /** A slot taken by a dispatch about to be sent (also marks the host as the last one selected). */
  hold(entry: WorkerEntry, operationId: string, attempt: number): void
  /** The host answered the dispatch (accepted or not): the slot is no longer in flight. */
  answered(entry: WorkerEntry, operationId: string): void
  /** A slot the host says it occupies (re-attached at registration or on a heartbeat). */
  attach(entry: WorkerEntry, operationId: string, attempt: number): void
  release(entry: WorkerEntry, operationId: string): void
  /** Frees every slot; returns what they held. */
  releaseAll(entry: WorkerEntry): Array<[operationId: string, attempt: number]>

  markHealthy(entry: WorkerEntry, at?: number): void
  /** A failed poll or probe; `definitive`: nothing listens at the endpoint. Returns whether the host is down now. */
  markFailure(entry: WorkerEntry, threshold: number, definitive: boolean): boolean
  /** The gateway lets go of the host's work: emits `worker:lost` once, until the host is healthy again. */
  markLost(entry: WorkerEntry, reason: string): void
  remove(id: string): WorkerEntry | undefined
}

/**
 * The worker registry: in memory on purpose. After a gateway restart hosts re-register within one
 * heartbeat (a 404 tells them to), carrying what they ran meanwhile, which is more truthful than a
 * persisted list of hosts that may have died with the gateway.
 */
export function createWorkerRegistry(hooks: GatewayHooks, now: () => number = Date.now): WorkerRegistry {
  const workers = new Map<string, WorkerEntry>()
  const views: HostView[] = []
  // The slot maps are read-only to everyone else.
  const slots = (entry: WorkerEntry) => entry.running as Map<string, number>
  const inFlight = (entry: WorkerEntry) => entry.dispatchedAt as Map<string, number>

  function status(entry: WorkerEntry): WorkerStatus {
    if (entry.lost || entry.unavailableSinceMs !== null) return 'TEMPORARILY_UNAVAILABLE'
    return entry.running.size > 0 ? 'BUSY' : 'AVAILABLE'
  }

  /** Recompute derived fields after any change; emits worker:status on a transition. */
  function refresh(entry: WorkerEntry) {
    const r = entry.record
    const previous = r.status
    const ops = [...entry.running.keys()]
    r.metadata.current_operations = ops
    r.metadata.current_operation = ops[0] ?? null
    r.metadata.free_slots = Math.max(0, r.capabilities.slots - entry.running.size)
    r.status = status(entry)
    entry.view.running = entry.running.size
    entry.view.schedulable = r.status !== 'TEMPORARILY_UNAVAILABLE' && !r.metadata.draining
    if (previous !== r.status) hooks.emit('worker:status', r, previous)
  }

  function rebuildViews() {
    views.length = 0
    for (const entry of workers.values()) views.push(entry.view)
  }

  return {
    views,
    get(id) {
      return workers.get(id)
    },
    atEndpoint(endpointUrl, except) {
      const url = endpointUrl.replace(/\/+$/, '')
      return [...workers.values()].filter((e) => e.record.worker_id !== except && e.record.endpoint_url === url)
    },
    all() {
      return [...workers.values()]
    },
    require(id) {
      const entry = workers.get(id)
      if (!entry)
        throw new KtrdrError({
          code: 'WORKER_NOT_FOUND',
          message: `Worker "${id}" is not registered: list workers with GET /api/v1/workers (a host re-registers by itself)`,
        })
      return entry
    },
    refresh,

    /**
     * Register or re-register. Another id at the same endpoint is left alone: the claim proves
     * nothing (the guide's test registration names a live host's endpoint); the route decides
     * from the endpoint's own /health whether that entry is stale.
     */
    register(body) {
      const t = now()
      const iso = new Date(t).toISOString()
      const caps = { ...body.capabilities, slots: Math.max(1, Math.floor(body.capabilities.slots || 1)) }
      const existing = workers.get(body.worker_id)
      const record: WorkerRecord = {
        worker_id: body.worker_id,
        worker_type: body.worker_type,
        endpoint_url: body.endpoint_url.replace(/\/+$/, ''),
        status: 'AVAILABLE',
        capabilities: caps,
        metadata: {
          current_operation: null,
          current_operations: [],
          free_slots: caps.slots,
          draining: false,
          last_selected: existing?.record.metadata.last_selected ?? null,
          warm_bundles: body.warm_bundles ?? [],
          host_info: body.host_info,
        },
        registered_at: iso,
        last_health_check: existing?.record.last_health_check ?? null,
        last_healthy_at: iso,
        last_heartbeat_at: iso,
        health_check_failures: 0,
      }
      const view: HostView = {
        id: record.worker_id,
        workerType: record.worker_type,
        schedulable: true,
        gpu: !!caps.gpu,
        ib: !!caps.ib,
        llm: !!caps.llm,
        memoryGb: Number(caps.memory_gb) || 0,
        labels: new Set(caps.labels),
        slots: caps.slots,
        running: 0,
        lastSelected: existing?.view.lastSelected ?? 0,
        warm: new Set(body.warm_bundles),
      }
      const entry: WorkerEntry = {
        record,
        view,
        running: new Map(),
        dispatchedAt: new Map(),
        lastHeartbeatMs: t,
        lastHealthyMs: t,
        unavailableSinceMs: null,
        lost: false,
      }
      workers.set(record.worker_id, entry)
      rebuildViews()
      refresh(entry)
      hooks.emit('worker:registered', record)
      return entry
    },

    heartbeat(entry, body) {
      const t = now()
      entry.lastHeartbeatMs = t
      entry.record.last_heartbeat_at = new Date(t).toISOString()
      if (body.warm_bundles) {
        entry.record.metadata.warm_bundles = body.warm_bundles
        entry.view.warm = new Set(body.warm_bundles)
      }
      markHealthy(entry, t)
    },

    markHealthy,

    markFailure(entry, threshold, definitive) {
      const t = now()
      entry.record.last_health_check = new Date(t).toISOString()
      entry.record.health_check_failures++
      const down = definitive || entry.record.health_check_failures >= threshold
      if (down && entry.unavailableSinceMs === null) entry.unavailableSinceMs = t
      refresh(entry)
      return down
    },

    markLost(entry, reason) {
      if (entry.lost) return
      entry.lost = true
      entry.unavailableSinceMs ??= now()
      refresh(entry)
      hooks.emit('worker:lost', entry.record, reason)
    },

    hold(entry, operationId, attempt) {
      const t = now()
      // Reserved before any I/O, so the same pump does not over-commit the host.
      slots(entry).set(operationId, attempt)
      inFlight(entry).set(operationId, t)
      entry.view.lastSelected = t
      entry.record.metadata.last_selected = new Date(t).toISOString()
      refresh(entry)
    },

    answered(entry, operationId) {
      inFlight(entry).delete(operationId)
    },

    attach(entry, operationId, attempt) {
      slots(entry).set(operationId, attempt)
      refresh(entry)
    },

    release(entry, operationId) {
      slots(entry).delete(operationId)
      inFlight(entry).delete(operationId)
      refresh(entry)
    },

    releaseAll(entry) {
      const held = [...entry.running]
      slots(entry).clear()
      inFlight(entry).clear()
      refresh(entry)
      return held
    },

    remove(id) {
      const entry = workers.get(id)
      if (!entry) return undefined
      workers.delete(id)
      rebuildViews()
      hooks.emit('worker:removed', entry.record)
      return entry
    },

    summary() {
      let available = 0,
        busy = 0,
        unavailable = 0
      for (const e of workers.values()) {
        if (e.record.status === 'AVAILABLE') available++
        else if (e.record.status === 'BUSY') busy++
        else unavailable++
      }
      return { total_workers: workers.size, available, busy, temporarily_unavailable: unavailable }
    },
  }

  function markHealthy(entry: WorkerEntry, t = now()): void {
    entry.lastHealthyMs = t
    entry.record.last_healthy_at = new Date(t).toISOString()
    entry.record.health_check_failures = 0
    entry.unavailableSinceMs = null
    entry.lost = false
    refresh(entry)
  }
}
