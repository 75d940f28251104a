// Test doubles for the gateway's own tests: an in-memory function registry and a host that speaks
// the host protocol without running bundles. Cluster tests (test/cluster) use the real host.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createApp, createRouter, defineEventHandler, getRouterParam, readBody, setResponseStatus, toNodeListener } from 'h3'
import type {
  DispatchRequest,
  FunctionManifest,
  OperationErrorInfo,
  FunctionVersion,
  HostEvent,
  HostHealth,
  RegistrationResponse,
  WorkerCapabilities,
} from '../../protocol/index.ts'
import { HOST_SECRET_HEADER, KtrdrError } from '../../protocol/index.ts'
import type { FunctionRegistry, ResolvedFunction } from '../registry/_types.ts'

export function manifest(name: string, extra: Partial<FunctionManifest> = {}): FunctionManifest {
  return {
    name,
    description: `${name} test function`,
    operation_type: name === 'echo' ? 'dummy' : name,
    input_schema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { message: { type: 'string' }, delay_ms: { type: 'integer', minimum: 0 }, steps: { type: 'integer', minimum: 0 } },
      additionalProperties: false,
    },
    placement: {},
    timeout_seconds: 60,
    max_attempts: 3,
    entry: 'server/index.mjs',
    built_at: new Date(0).toISOString(),
    node: '>=20',
    ...extra,
  }
}

/** Resolves `name`, `name@N`; each function has one version per manifest given. */
export function createFakeRegistry(manifests: FunctionManifest[]): FunctionRegistry {
  const versions: FunctionVersion[] = manifests.map((m, i) => ({
    name: m.name,
    version: 1,
    sha256: `sha-${m.name}-${i}`.padEnd(64, '0'),
    size: 1,
    bundle_key: `${m.name}/1.tgz`,
    manifest: m,
    created_at: new Date(0).toISOString(),
    source_commit: null,
  }))
  const notImplemented = () => {
    throw new Error('not in the fake registry')
  }
  return {
    async resolve(spec: string): Promise<ResolvedFunction> {
      const [name, ver] = spec.split('@')
      const v = versions.find((x) => x.name === name && (!ver || ver === 'latest' || String(x.version) === ver))
      if (!v) throw new KtrdrError({ code: 'FUNCTION_NOT_FOUND', message: `Function ${spec} is not deployed` })
      return { ...v, requested: spec }
    },
    getVersion: async (name: string, version: number) => versions.find((x) => x.name === name && x.version === version) ?? null,
    publish: notImplemented,
    listFunctions: async () =>
      versions.map((v) => ({
        name: v.name,
        latest: v.version,
        versions: 1,
        aliases: [{ name: v.name, alias: 'latest', routes: [{ version: v.version, weight: 100 }], updated_at: v.created_at }],
      })),
    getFunction: async (name: string) => {
      const own = versions.filter((v) => v.name === name)
      if (!own.length) return null
      return {
        name,
        versions: own,
        aliases: [{ name, alias: 'latest', routes: [{ version: 1, weight: 100 }], updated_at: own[0]!.created_at }],
      }
    },
    setAlias: notImplemented,
    rollback: notImplemented,
    collectGarbage: notImplemented,
  }
}

export interface FakeHostOptions {
  gatewayUrl: string
  workerId: string
  workerType?: string
  capabilities?: Partial<WorkerCapabilities>
  heartbeatMs?: number
  /** Answer /health with this status (e.g. 500 to fail health checks). */
  healthStatus?: number
  heartbeat?: boolean
  token?: string
  /** How an invocation ends; default: completed with `{echo: input, worker_id}`. */
  outcome?: (request: DispatchRequest) => { result: unknown } | { error: OperationErrorInfo }
}

/**
 * Runs each invocation as a timer: `input.delay_ms` (default 0), `input.steps` progress events.
 * Events are pushed at once; the host can be closed abruptly (like a SIGKILL) with `kill()`.
 */
export async function startFakeHost(options: FakeHostOptions) {
  const running = new Map<string, { attempt: number; timers: NodeJS.Timeout[]; end: () => Promise<void> }>()
  const received: DispatchRequest[] = []
  let seq = 0
  let killed = false
  const state = { healthStatus: options.healthStatus ?? 200, refuse: false, dispatchCalls: 0 }
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (options.token) headers.authorization = `Bearer ${options.token}`
  const caps: WorkerCapabilities = { cores: 2, memory_gb: 4, gpu: false, ib: false, llm: false, slots: 1, ...options.capabilities }

  // A dispatch can arrive before the registration's answer (with the host secret) does: the gateway
  // dispatches queued work as soon as the host is registered, and on PostgreSQL answers only after
  // the secret is committed. The real host's outbox retries a refused batch; this one waits for the answer.
  let registering: Promise<unknown> = Promise.resolve()
  const push = async (event: HostEvent) => {
    await registering
    if (killed) return
    await fetch(`${options.gatewayUrl}/api/v1/workers/${options.workerId}/events`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ events: [event] }),
    }).catch(() => {})
  }
  const at = () => new Date().toISOString()

  const router = createRouter()
  router.post(
    '/invocations',
    defineEventHandler(async (event) => {
      const body = await readBody<DispatchRequest>(event)
      state.dispatchCalls++
      if (state.refuse || running.size >= caps.slots) {
        setResponseStatus(event, 503)
        return { accepted: false }
      }
      received.push(body)
      const input = (body.input ?? {}) as { delay_ms?: number; steps?: number }
      const id = body.operation_id
      const timers: NodeJS.Timeout[] = []
      setImmediate(
        () => void push({ seq: ++seq, type: 'started', operation_id: id, attempt: body.attempt, at: at(), bundle_ready_at: at() }),
      )
      const steps = input.steps ?? 0
      const delay = input.delay_ms ?? 0
      for (let i = 1; i <= steps; i++) {
        timers.push(
          setTimeout(
            () =>
              void push({
                seq: ++seq,
                type: 'progress',
                operation_id: id,
                attempt: body.attempt,
                at: at(),
                progress: { percentage: (i / steps) * 100, current_step: `Step ${i}/${steps}`, context: { step: i } },
              }),
            (delay * i) / (steps + 1),
          ),
        )
      }
      const end = () => {
        for (const t of timers) clearTimeout(t)
        running.delete(id)
        const outcome = options.outcome?.(body) ?? { result: { echo: body.input, worker_id: options.workerId } }
        if ('error' in outcome)
          return push({ seq: ++seq, type: 'failed', operation_id: id, attempt: body.attempt, at: at(), error: outcome.error })
        return push({ seq: ++seq, type: 'completed', operation_id: id, attempt: body.attempt, at: at(), result: outcome.result })
      }
      running.set(id, { attempt: body.attempt, timers, end })
      timers.push(setTimeout(() => void end(), delay))
      setResponseStatus(event, 202)
      return { accepted: true }
    }),
  )
  router.delete(
    '/invocations/:id',
    defineEventHandler((event) => {
      const id = getRouterParam(event, 'id')!
      const r = running.get(id)
      if (r) {
        for (const t of r.timers) clearTimeout(t)
        running.delete(id)
        void push({ seq: ++seq, type: 'cancelled', operation_id: id, attempt: r.attempt, at: at(), reason: 'cancelled' })
      }
      setResponseStatus(event, 202)
      return { accepted: true }
    }),
  )
  router.post(
    '/bundles/prefetch',
    defineEventHandler((event) => {
      setResponseStatus(event, 202)
      return { accepted: true }
    }),
  )
  router.get(
    '/health',
    defineEventHandler((event): HostHealth | { healthy: false } => {
      if (state.healthStatus !== 200) {
        setResponseStatus(event, state.healthStatus)
        return { healthy: false }
      }
      return {
        healthy: true,
        service: 'ktrdr-host',
        worker_id: options.workerId,
        timestamp: at(),
        status: 'operational',
        worker_status: running.size ? 'busy' : 'idle',
        current_operation: [...running.keys()][0] ?? null,
        running_operations: [...running.keys()],
        free_slots: caps.slots - running.size,
      }
    }),
  )
  const app = createApp()
  app.use(router)
  const server: Server = createServer(toNodeListener(app))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const register = (): Promise<RegistrationResponse> => {
    const registration = registerOnce()
    registering = registration.catch(() => {})
    return registration
  }
  const registerOnce = async (): Promise<RegistrationResponse> => {
    const res = await fetch(`${options.gatewayUrl}/api/v1/workers/register`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        worker_id: options.workerId,
        worker_type: options.workerType ?? 'general',
        endpoint_url: url,
        capabilities: caps,
        running_operations: [...running].map(([operation_id, r]) => ({ operation_id, attempt: r.attempt })),
      }),
    })
    if (!res.ok) throw new Error(`register failed: ${res.status} ${await res.text()}`)
    const response = (await res.json()) as RegistrationResponse
    // Like the real host: keep the secret the gateway issued and present it from now on.
    if (response.host_secret) headers[HOST_SECRET_HEADER] = response.host_secret
    return response
  }
  const heartbeatOnce = async () => {
    const res = await fetch(`${options.gatewayUrl}/api/v1/workers/${options.workerId}/heartbeat`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        running_operations: [...running].map(([operation_id, r]) => ({ operation_id, attempt: r.attempt })),
        free_slots: caps.slots - running.size,
      }),
    }).catch(() => null)
    if (res?.status === 404) await register().catch(() => {})
  }
  await register()
  const hb = options.heartbeat === false ? null : setInterval(() => void heartbeatOnce(), options.heartbeatMs ?? 200)

  return {
    url,
    workerId: options.workerId,
    received,
    running,
    state,
    register,
    /** Ends a running invocation now, as its timer would (the test decides when a slot frees, not the clock). */
    finish(operationId: string): Promise<void> {
      const r = running.get(operationId)
      if (!r) throw new Error(`${options.workerId} does not run ${operationId}`)
      return r.end()
    },
    /** Headers that speak as this host (cluster token and the secret the gateway issued it). */
    get asHost(): Record<string, string> {
      return { ...headers }
    },
    /** Abrupt death: sockets destroyed, nothing more is sent. */
    kill() {
      killed = true
      if (hb) clearInterval(hb)
      for (const r of running.values()) for (const t of r.timers) clearTimeout(t)
      server.closeAllConnections()
      server.close()
    },
    async close() {
      killed = true
      if (hb) clearInterval(hb)
      for (const r of running.values()) for (const t of r.timers) clearTimeout(t)
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}
