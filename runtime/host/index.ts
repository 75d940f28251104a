// Public entry of the function host: a generic worker that registers with the gateway, fetches
// function bundles from storage and runs each invocation in a forked executor child.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { toNodeListener } from 'h3'
import { createKtrdrStorage, sweepStorageTemps, sweepTempFiles } from '../../storage/index.ts'
import type { ChannelAnswer, ChannelOp, DispatchRequest, HostHealth, WorkerCapabilities, WorkerRegistration } from '../protocol/index.ts'
import { KtrdrError, createKtrdrLogger } from '../protocol/index.ts'
import { createBundleCache } from './_bundles.ts'
import { resolveCapabilities } from './_detect.ts'
import { createEventOutbox } from './_events.ts'
import { createExecutorPool } from './_executors.ts'
import { createMemoryGuard } from './_memory.ts'
import { createHostMetrics } from './_metrics.ts'
import { createGatewayLink } from './_gateway-link.ts'
import { startInvocation, type Invocation } from './_invocations.ts'
import { createHostApp, parseDispatchRequest } from './_server.ts'
import { answerClientError, type RouteInfo } from '../http/index.ts'
import { functionEnv } from './_env.ts'
import { createStorageAccess } from './_storage-proxy.ts'
import { hostname, isLoopback, resolveHostOptions, type HostConfig, type ResolvedHostOptions } from './options.ts'

export { HOST_CAPABILITIES, resolveGpu, resolveHostOptions, type HostConfig, type ResolvedHostOptions } from './options.ts'
export { detectGpus, parseNvidiaSmi } from './_detect.ts'

export interface KtrdrHost {
  url: string
  workerId: string
  options: ResolvedHostOptions
  capabilities: WorkerCapabilities
  /** Resolves after the first successful registration (immediately when standalone). */
  registered: Promise<void>
  /** Live executor children (pid, version, busy) — for tests and `GET /`. */
  executors(): Array<{
    pid: number
    name: string
    version: number
    sha256: string
    ready: boolean
    busy: boolean
    active: number
    retired: boolean
  }>
  warmBundles(): string[]
  /** The host API's routes with their declared auth policy. */
  routes: readonly RouteInfo[]
  /** Stop taking work, wait for running invocations (up to `timeoutMs`), deliver events, stop. */
  close(options?: { timeoutMs?: number }): Promise<void>
}

const VERSION = '0.1.0'

export async function createHost(config: HostConfig = {}): Promise<KtrdrHost> {
  const options = resolveHostOptions(config)
  if (!isLoopback(options.bind) && !options.clusterToken && !options.insecure) {
    throw new KtrdrError({
      code: 'INSECURE_BIND',
      message: `Refusing to listen on ${options.bind} without KTRDR_CLUSTER_TOKEN; set a token or pass --insecure`,
    })
  }
  const logger = createKtrdrLogger({ tag: options.workerId, level: options.logLevel, format: options.logFormat })
  const startedAt = new Date().toISOString()
  const capabilities = await resolveCapabilities(options)
  const storage = await createKtrdrStorage(options.storage)
  const active = new Map<string, Invocation>()
  let draining = false
  let link: ReturnType<typeof createGatewayLink> | null = null
  let localUrl = ''
  const storageAccess = createStorageAccess({ storage, resolved: options.storage, mode: options.functionStorage, url: () => localUrl })
  /** Latest secrets per function, so a prewarmed executor starts the way the next invocation needs it. */
  const lastSecrets = new Map<string, Record<string, string>>()

  const memory = createMemoryGuard({ mode: options.executorMemoryEnforcement })
  logger.info(`Executor memory cap ${options.executorMemoryMb} MB enforced by ${memory.detail}`)
  // Reads pool, cache and slots only when scraped, so it can exist before them.
  const metrics = createHostMetrics({
    executors: () => pool.stats(),
    spares: () => pool.spareCount(),
    bundles: () => cache.list(),
    slots: () => ({ total: options.slots, used: active.size }),
  })
  const pool = createExecutorPool({
    onStart: (name, kind) => metrics.executorStarted(name, kind),
    idleMs: options.executorIdleMs,
    maxIdle: options.maxIdleExecutors,
    memoryMb: options.executorMemoryMb,
    forwardOutput: options.forwardExecutorOutput,
    // JSON logs stay one object a line: what functions print goes through the logger too.
    forwardLine:
      options.logFormat === 'json'
        ? (stream, line, name) => logger[stream === 'stderr' ? 'error' : 'info']({ message: line, function: name, stream })
        : undefined,
    spares: options.spareExecutors,
    memory,
    logger,
  })
  const cache = createBundleCache({
    dir: join(options.cacheDir, 'bundles'),
    maxBytes: options.cacheMaxBytes,
    bundles: storage.bundles,
    isInUse: (sha) => pool.inUse(sha) || [...active.values()].some((i) => i.request.function.sha256 === sha),
    onDamaged: (bundle, files) =>
      logger.warn(
        `Cached bundle ${bundle.name}@${bundle.version} (${bundle.sha256.slice(0, 12)}) is damaged (${files.slice(0, 3).join(', ')}${files.length > 3 ? ', …' : ''}): dropped, it is fetched again when next needed`,
      ),
  })
  await cache.init()
  // Temp files of writes that died with their process (crash, SIGKILL, ENOSPC before this fix)
  // would hold disk forever: the cache dir and the storage folders this host writes to.
  void Promise.all([sweepTempFiles(options.cacheDir), sweepStorageTemps(storage.options)])
    .then((rs) => {
      const removed = rs.reduce((n, r) => n + r.removed.length, 0)
      if (removed > 0)
        logger.info(`Removed ${removed} stale temporary file(s) (${rs.reduce((n, r) => n + r.bytes, 0)} bytes) of interrupted writes`)
    })
    .catch((error: Error) => logger.warn(`Sweeping stale temporary files failed: ${error.message}`))

  const outbox = createEventOutbox({
    send: (events) => (link ? link.pushEvents(events) : Promise.resolve({ acked_seq: events[events.length - 1]!.seq })),
    onUnknownWorker: () => link?.register() ?? Promise.resolve(),
    logger,
    // Over the channel batches arrive in order, so each goes as soon as it exists: a no-op's
    // `completed` no longer waits for the ack of its `started`.
    window: () => (link?.pipelined() ? 16 : 1),
  })

  /** Highest version seen per function: a newer one retires the older versions' executors. */
  const newestVersion = new Map<string, number>()
  function noteVersion(name: string, version: number, sha: string) {
    if (version > (newestVersion.get(name) ?? 0)) {
      newestVersion.set(name, version)
      pool.retireOthers(name, sha)
    }
  }

  const runningOps = () => [...active.values()].map((i) => ({ operation_id: i.request.operation_id, attempt: i.request.attempt }))
  const freeSlots = () => Math.max(0, options.slots - active.size)

  function dispatch(request: DispatchRequest) {
    const existing = active.get(request.operation_id)
    if (existing && existing.request.attempt === request.attempt) return { accepted: true as const, done: existing.done }
    if (draining) return { accepted: false as const, reason: `Host ${options.workerId} is draining and takes no new work` }
    if (existing)
      return {
        accepted: false as const,
        reason: `Operation ${request.operation_id} is already running here (attempt ${existing.request.attempt})`,
      }
    if (active.size >= options.slots)
      return { accepted: false as const, reason: `Host ${options.workerId} has no free slot (${options.slots} in use)` }
    const refusal = cache.refusal(request.function.sha256)
    if (refusal)
      return {
        accepted: false as const,
        reason: `Host ${options.workerId} does not take ${request.function.name}@${request.function.version} for now: ${refusal}`,
      }
    noteVersion(request.function.name, request.function.version, request.function.sha256)
    lastSecrets.set(request.function.name, request.secrets ?? {})
    const invocation = startInvocation(request, {
      options,
      cache,
      pool,
      capabilities,
      logger,
      storageAccess,
      emit: (event) => outbox.push(event),
    })
    active.set(request.operation_id, invocation)
    void invocation.done
      .then((outcome) => metrics.invocationEnded(request.function.name, outcome.status, outcome.timings))
      .finally(() => {
        if (active.get(request.operation_id) === invocation) active.delete(request.operation_id)
      })
    return { accepted: true as const, done: invocation.done }
  }

  function cancel(operationId: string, reason?: string): boolean {
    const invocation = active.get(operationId)
    if (!invocation) return false
    invocation.cancel(reason)
    return true
  }

  /** The gateway's calls over the channel, answered as POST /invocations and DELETE /invocations/:id are. */
  function onChannelRequest(op: ChannelOp, body: unknown): ChannelAnswer {
    if (op === 'dispatch') {
      const request = parseDispatchRequest(body)
      const result = dispatch(request)
      if (!result.accepted) throw new KtrdrError({ code: 'HOST_BUSY', message: result.reason })
      return { status: 202, body: { accepted: true, operation_id: request.operation_id, attempt: request.attempt } }
    }
    if (op === 'cancel') {
      const { operation_id: id, reason } = (body ?? {}) as { operation_id?: unknown; reason?: unknown }
      if (typeof id !== 'string') throw new KtrdrError({ code: 'BAD_REQUEST', message: 'cancel needs an operation_id' })
      if (!cancel(id, typeof reason === 'string' ? reason : undefined))
        throw new KtrdrError({ code: 'OPERATION_NOT_RUNNING', message: `Operation ${id} is not running on this host` })
      return { status: 202, body: { cancelling: true, operation_id: id } }
    }
    throw new KtrdrError({ code: 'BAD_REQUEST', message: `A host does not serve "${op}" requests` })
  }

  const memoryEnforcement = { mode: memory.mode, limit_mb: options.executorMemoryMb, detail: memory.detail }
  const app = createHostApp(
    {
      health: (): HostHealth => ({
        healthy: true,
        service: 'ktrdr-host',
        worker_id: options.workerId,
        timestamp: new Date().toISOString(),
        status: draining ? 'draining' : 'operational',
        worker_status: active.size >= options.slots ? 'busy' : 'idle',
        current_operation: active.keys().next().value ?? null,
        running_operations: [...active.keys()],
        free_slots: freeSlots(),
        memory_enforcement: memoryEnforcement,
      }),
      dispatch,
      cancel,
      prefetch(body) {
        noteVersion(body.name, body.version, body.sha256)
        void cache
          .ensure({ ...body, timeout_seconds: body.timeout_seconds ?? 0 })
          .then((bundle) =>
            options.prewarm ? pool.prewarm(bundle, functionEnv(bundle.manifest, bundle.version, lastSecrets.get(bundle.name))) : undefined,
          )
          .catch((error) => logger.warn(`Prefetch of ${body.name}@${body.version} failed: ${(error as Error).message}`))
      },
      drain() {
        draining = true
      },
      info: () => ({
        service: 'ktrdr-host',
        version: VERSION,
        status: 'running',
        worker_id: options.workerId,
        timestamp: new Date().toISOString(),
        pid: process.pid,
        executors: pool.stats(),
        bundles: cache.list(),
        unhealthy_bundles: cache.unhealthyList(),
        memory_enforcement: memoryEnforcement,
        spares: pool.spareCount(),
        storage_capabilities: storageAccess.size(),
      }),
      metrics: () => metrics.metrics(),
    },
    options.clusterToken,
    storageAccess.handler,
    { metricsPublic: options.metricsPublic },
  )

  const server = createServer(toNodeListener(app))
  server.keepAliveTimeout = 65_000
  server.on('clientError', answerClientError)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.bind, () => {
      server.off('error', reject)
      resolve()
    })
  }).catch(async (error: unknown) => {
    // A port in use: the spare executors and storage started above would keep the process alive
    // after the error was reported (`ktrdr up --host-port` on a taken port never exited).
    outbox.stop()
    await pool.close()
    await storage.dispose()
    throw error
  })
  const port = (server.address() as AddressInfo).port
  localUrl = `http://${options.bind.includes(':') ? `[${options.bind}]` : options.bind === '0.0.0.0' ? '127.0.0.1' : options.bind}:${port}`
  const endpointUrl = options.endpointUrl ?? (isLoopback(options.bind) ? localUrl : `http://${hostname()}:${port}`)

  const registration = (): WorkerRegistration => ({
    worker_id: options.workerId,
    worker_type: options.workerType,
    endpoint_url: endpointUrl,
    capabilities,
    running_operations: runningOps(),
    completed_operations: outbox.unackedCompletions(),
    warm_bundles: cache.warm(),
    host_info: { pid: process.pid, version: VERSION, started_at: startedAt, hostname: hostname() },
  })

  let registered: Promise<void> = Promise.resolve()
  if (options.apiUrl) {
    link = createGatewayLink(
      { ...options, apiUrl: options.apiUrl },
      {
        registration,
        onRegistered(response, sent) {
          if (sent.completed_operations?.length) outbox.markReported(sent.completed_operations)
          for (const id of response.stop_operations ?? []) active.get(id)?.cancel('The gateway already finished this operation')
          outbox.kick()
        },
        heartbeat: () => ({ running_operations: runningOps(), free_slots: freeSlots(), warm_bundles: cache.warm() }),
        onCancel(ids) {
          for (const id of ids) active.get(id)?.cancel('Cancelled by the gateway')
        },
        onChannelRequest,
        onChannelOpen: () => outbox.kick(),
      },
      logger,
    )
    registered = link.start()
  } else {
    logger.info(`Host ${options.workerId} listening on ${localUrl} (standalone: no KTRDR_API_URL)`)
  }

  let closing: Promise<void> | null = null
  return {
    url: localUrl,
    workerId: options.workerId,
    options,
    capabilities,
    registered,
    executors: () => pool.stats(),
    warmBundles: () => cache.warm(),
    routes: app.routes,
    close({ timeoutMs = 10_000 } = {}) {
      closing ??= (async () => {
        draining = true
        const running = [...active.values()]
        const timer = setTimeout(() => running.forEach((i) => i.cancel('Host shutting down', { requeue: true })), timeoutMs)
        await Promise.allSettled(running.map((i) => i.done))
        clearTimeout(timer)
        if (link) await Promise.race([outbox.drained(), new Promise((r) => setTimeout(r, 2000))])
        outbox.stop()
        await link?.deregister()
        link?.stop()
        await pool.close()
        server.closeAllConnections?.()
        await new Promise<void>((resolve) => server.close(() => resolve()))
        await storage.dispose()
      })()
      return closing
    },
  }
}
