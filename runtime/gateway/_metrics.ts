import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Operation } from '../protocol/index.ts'
import type { GatewayHooks } from './_hooks.ts'
import type { OperationsService } from './_operations.ts'
import type { WorkerRegistry } from './_workers.ts'

/** Seconds from 5 ms (a warm no-op's dispatch) to 6 h (a long training). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21_600]

/**
 * The phases of one attempt, from its operation's timings (docs/operations.md#metrics). `placed`
 * and `bundle_fetch` need the host's `accepted_at`; host and gateway clocks may differ by the NTP
 * error, so a negative span counts as 0.
 */
const PHASES: Array<[phase: string, from: keyof Operation['timings'], to: keyof Operation['timings']]> = [
  ['queued', 'queued_at', 'placed_at'],
  ['placed', 'placed_at', 'accepted_at'],
  ['bundle_fetch', 'accepted_at', 'bundle_ready_at'],
  ['executor_start', 'bundle_ready_at', 'started_at'],
  ['run', 'started_at', 'finished_at'],
]

const span = (from: string | null | undefined, to: string | null | undefined) =>
  from && to ? Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000) : null

/**
 * The gateway's Prometheus metrics (GET /metrics): counters and histograms fed by the hooks,
 * gauges read from the operations and the worker registry when scraped. A registry of its own,
 * so several gateways in one process (tests) never share series.
 */
export function createGatewayMetrics(deps: {
  hooks: GatewayHooks
  operations: OperationsService
  workers: WorkerRegistry
  /** Open WebSocket channels now: hosts' and API clients'. */
  channels?: () => { host: number; client: number }
}) {
  const { hooks, operations, workers } = deps
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'ktrdr_gateway_' })

  const created = new Counter({
    name: 'ktrdr_operations_created_total',
    help: 'Operations accepted, by function',
    labelNames: ['function'],
    registers: [registry],
  })
  const finished = new Counter({
    name: 'ktrdr_operations_finished_total',
    help: 'Operations that reached a final status, by function and status (completed, failed, cancelled)',
    labelNames: ['function', 'status'],
    registers: [registry],
  })
  const requeued = new Counter({
    name: 'ktrdr_operations_requeued_total',
    help: 'Attempts put back in the queue (host lost or shut down), by function',
    labelNames: ['function'],
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'ktrdr_operation_duration_seconds',
    help: 'From acceptance to the final status, by function and status',
    labelNames: ['function', 'status'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  })
  const phases = new Histogram({
    name: 'ktrdr_operation_phase_seconds',
    help: 'Latency of each phase of the last attempt: queued, placed (dispatch until the host accepted), bundle_fetch, executor_start, run',
    labelNames: ['function', 'phase'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  })
  const heartbeatsMissed = new Counter({
    name: 'ktrdr_heartbeats_missed_total',
    help: 'Heartbeats overdue (each one triggered an immediate health probe), by host',
    labelNames: ['worker_id'],
    registers: [registry],
  })
  const hostsLost = new Counter({
    name: 'ktrdr_hosts_lost_total',
    help: 'Hosts found dead (their operations re-queued), by host',
    labelNames: ['worker_id'],
    registers: [registry],
  })
  const deploys = new Counter({
    name: 'ktrdr_deploys_total',
    help: 'Function versions published (a re-publish of the same bytes counts too), by function',
    labelNames: ['function'],
    registers: [registry],
  })

  // Read when scraped: the state right now, not an event count.
  new Gauge({
    name: 'ktrdr_operations',
    help: 'Live operations, by function and status (pending, running)',
    labelNames: ['function', 'status'],
    registers: [registry],
    collect() {
      this.reset()
      for (const s of operations.liveOperations()) this.inc({ function: s.op.function.name, status: s.op.status })
    },
  })
  new Gauge({
    name: 'ktrdr_queue_depth',
    help: 'Pending operations waiting for a host, by priority',
    labelNames: ['priority'],
    registers: [registry],
    collect() {
      this.reset()
      for (const s of operations.liveOperations()) if (s.op.status === 'pending') this.inc({ priority: String(s.op.priority) })
    },
  })
  new Gauge({
    name: 'ktrdr_host_slots',
    help: 'Slots of registered hosts, by host and state (free, used)',
    labelNames: ['worker_id', 'state'],
    registers: [registry],
    collect() {
      this.reset()
      for (const entry of workers.all()) {
        const id = entry.record.worker_id
        const slots = entry.record.capabilities.slots
        this.set({ worker_id: id, state: 'used' }, entry.running.size)
        this.set({ worker_id: id, state: 'free' }, entry.lost ? 0 : Math.max(0, slots - entry.running.size))
      }
    },
  })
  new Gauge({
    name: 'ktrdr_hosts',
    help: 'Registered hosts, by status (AVAILABLE, BUSY, TEMPORARILY_UNAVAILABLE)',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      this.reset()
      for (const status of ['AVAILABLE', 'BUSY', 'TEMPORARILY_UNAVAILABLE']) this.set({ status }, 0)
      for (const entry of workers.all()) this.inc({ status: entry.record.status })
    },
  })

  new Gauge({
    name: 'ktrdr_channels',
    help: 'Open WebSocket channels, by kind (host: a host’s call-path channel; client: an API client’s invoke channel)',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const open = deps.channels?.() ?? { host: 0, client: 0 }
      this.set({ kind: 'host' }, open.host)
      this.set({ kind: 'client' }, open.client)
    },
  })

  hooks.on('operation:created', (op) => created.inc({ function: op.function.name }))
  hooks.on('operation:requeued', (op) => requeued.inc({ function: op.function.name }))
  hooks.on('operation:finished', (op) => {
    const fn = op.function.name
    finished.inc({ function: fn, status: op.status })
    const total = span(op.created_at, op.completed_at)
    if (total !== null) duration.observe({ function: fn, status: op.status }, total)
    for (const [phase, from, to] of PHASES) {
      const seconds = span(op.timings[from], op.timings[to])
      if (seconds !== null) phases.observe({ function: fn, phase }, seconds)
    }
  })
  hooks.on('worker:heartbeat-missed', (worker) => heartbeatsMissed.inc({ worker_id: worker.worker_id }))
  hooks.on('worker:lost', (worker) => hostsLost.inc({ worker_id: worker.worker_id }))
  hooks.on('function:published', (version) => deploys.inc({ function: version.name }))

  return {
    registry,
    contentType: registry.contentType,
    /** The text exposition format. */
    metrics: () => registry.metrics(),
  }
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>
