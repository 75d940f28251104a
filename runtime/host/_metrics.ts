import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** Seconds from 1 ms (a warm executor) to 6 h (a long training). */
const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21_600]

export interface HostMetricsSource {
  executors(): Array<{ busy: boolean; retired: boolean; ready: boolean }>
  spares(): number
  bundles(): Array<{ size: number }>
  slots(): { total: number; used: number }
}

/**
 * A host's Prometheus metrics (GET /metrics on the host): executors warm and busy, cold starts,
 * the bundle cache, slots, and per-invocation phases measured on the host's own clock.
 */
export function createHostMetrics(source: HostMetricsSource) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'ktrdr_host_process_' })

  const starts = new Counter({
    name: 'ktrdr_host_executor_starts_total',
    help: 'Executors taken for an invocation or a deploy, by function and kind: cold (a new child), warm (an idle one reused), prewarm (started ahead after a deploy)',
    labelNames: ['function', 'kind'],
    registers: [registry],
  })
  const invocations = new Counter({
    name: 'ktrdr_host_invocations_total',
    help: 'Invocations that ended here, by function and status',
    labelNames: ['function', 'status'],
    registers: [registry],
  })
  const phases = new Histogram({
    name: 'ktrdr_host_invocation_phase_seconds',
    help: 'Phases of an invocation on this host: bundle_fetch (cache hit or fetch+verify+unpack), executor_start (warm or cold), run',
    labelNames: ['function', 'phase'],
    buckets: BUCKETS,
    registers: [registry],
  })
  new Gauge({
    name: 'ktrdr_host_executors',
    help: 'Executor children, by state: idle (warm, waiting), busy, starting',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const count = { idle: 0, busy: 0, starting: 0 }
      for (const e of source.executors()) count[e.busy ? 'busy' : e.ready ? 'idle' : 'starting']++
      for (const [state, n] of Object.entries(count)) this.set({ state }, n)
    },
  })
  new Gauge({
    name: 'ktrdr_host_spare_executors',
    help: 'Pre-started Node processes waiting to load a bundle (they take Node start-up off a cold start)',
    registers: [registry],
    collect() {
      this.set(source.spares())
    },
  })
  new Gauge({
    name: 'ktrdr_host_bundle_cache_bytes',
    help: 'Bytes of unpacked bundles in the cache (KTRDR_HOST_CACHE_MB caps it)',
    registers: [registry],
    collect() {
      this.set(source.bundles().reduce((sum, b) => sum + b.size, 0))
    },
  })
  new Gauge({
    name: 'ktrdr_host_bundles',
    help: 'Bundles unpacked and ready in the cache',
    registers: [registry],
    collect() {
      this.set(source.bundles().length)
    },
  })
  new Gauge({
    name: 'ktrdr_host_slots',
    help: 'Invocation slots, by state (free, used)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const { total, used } = source.slots()
      this.set({ state: 'used' }, used)
      this.set({ state: 'free' }, Math.max(0, total - used))
    },
  })

  return {
    contentType: registry.contentType,
    metrics: () => registry.metrics(),
    executorStarted(fn: string, kind: 'cold' | 'warm' | 'prewarm') {
      starts.inc({ function: fn, kind })
    },
    /** One finished invocation with its host-side marks (ms since epoch). */
    invocationEnded(fn: string, status: string, t: Record<string, number>) {
      invocations.inc({ function: fn, status })
      const phase = (name: string, from?: number, to?: number) => {
        if (from !== undefined && to !== undefined) phases.observe({ function: fn, phase: name }, Math.max(0, to - from) / 1000)
      }
      phase('bundle_fetch', t.accepted, t.bundle_ready)
      phase('executor_start', t.bundle_ready, t.executor_ready)
      phase('run', t.executor_ready, t.finished)
    },
  }
}

export type HostMetrics = ReturnType<typeof createHostMetrics>
