import type { HeartbeatRequest, WorkerRecord, WorkerRegistration, WorkerStatus } from '../protocol/index.ts'
import { KtrdrError } from '../protocol/index.ts'
import type { HostView } from '../scheduler/index.ts'
import type { GatewayHooks } from './_hooks.ts'

/** One registered host: the public record plus the scheduler's view and liveness bookkeeping. */
export interface WorkerEntry {
  record: WorkerRecord
  view: HostView
  /** Operations the gateway has placed there and not seen finish (operation id → attempt). */
  running: Map<string, number>
  /** Dispatch started at (ms), so a heartbeat built before the dispatch landed does not drop it. */
  dispatchedAt: Map<string, number>
  lastHeartbeatMs: number
  lastHealthyMs: number
  unavailableSinceMs: number | null
  /** Set while the host is considered dead (its work was re-queued); cleared when it talks again. */
  lost: boolean
}

/**
 * The worker registry: in memory on purpose. After a gateway restart hosts re-register within one
 * heartbeat (a 404 tells them to), carrying what they ran meanwhile, which is more truthful than a
 * persisted list of hosts that may have died with the gateway.
 */
export function createWorkerRegistry(hooks: GatewayHooks, now: () => number = Date.now) {
  const workers = new Map<string, WorkerEntry>()
  const views: HostView[] = []

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
    views: views as readonly HostView[],
    get(id: string) {
      return workers.get(id)
    },
    /** Other entries registered with this endpoint URL. */
    atEndpoint(endpointUrl: string, except: string): WorkerEntry[] {
      const url = endpointUrl.replace(/\/+$/, '')
      return [...workers.values()].filter((e) => e.record.worker_id !== except && e.record.endpoint_url === url)
    },
    all() {
      return [...workers.values()]
    },
    require(id: string): WorkerEntry {
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
    register(body: WorkerRegistration): WorkerEntry {
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

    heartbeat(entry: WorkerEntry, body: HeartbeatRequest) {
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

    /** A failed poll or probe. `definitive`: nothing listens at the endpoint (refused) → unavailable now. */
    markFailure(entry: WorkerEntry, threshold: number, definitive: boolean): boolean {
      const t = now()
      entry.record.last_health_check = new Date(t).toISOString()
      entry.record.health_check_failures++
      const down = definitive || entry.record.health_check_failures >= threshold
      if (down && entry.unavailableSinceMs === null) entry.unavailableSinceMs = t
      if (down) entry.lost = true
      refresh(entry)
      return down
    },

    select(entry: WorkerEntry) {
      const t = now()
      entry.view.lastSelected = t
      entry.record.metadata.last_selected = new Date(t).toISOString()
    },

    remove(id: string): WorkerEntry | undefined {
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

  function markHealthy(entry: WorkerEntry, t = now()) {
    entry.lastHealthyMs = t
    entry.record.last_healthy_at = new Date(t).toISOString()
    entry.record.health_check_failures = 0
    entry.unavailableSinceMs = null
    entry.lost = false
    refresh(entry)
  }
}

export type WorkerRegistry = ReturnType<typeof createWorkerRegistry>
