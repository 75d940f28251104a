import type { ConsolaInstance } from 'consola'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { createKtrdrStorage, sweepStorageTemps, type KtrdrStorage } from '../../storage/index.ts'
import { KtrdrError, createKtrdrLogger, type FunctionVersion } from '../protocol/index.ts'
import { openGatewayDatabase, type GatewayDatabase } from './_db.ts'
import { fenceWrites } from './_fence.ts'
import { lockDatabaseFile, type DatabaseLock } from './_lock.ts'
import { createDeadlineSweeper } from './_deadlines.ts'
import { createDispatcher, type Dispatcher } from './_dispatcher.ts'
import { createHealthMonitor, type HealthMonitor } from './_health.ts'
import { createGatewayHooks, type GatewayHooks } from './_hooks.ts'
import { createHostChannels, type HostChannels } from './_host-channel.ts'
import { createHostClient, type HostClient } from './_host-client.ts'
import { createInvoker, type Invoker } from './_invoke.ts'
import { createClientChannels, type ClientChannels } from './_client-channel.ts'
import { createInvokeChecks, type InvokeChecks } from './_invoke-checks.ts'
import { createOperationLogs, type OperationLogs } from './_logs.ts'
import { createGatewayMetrics, type GatewayMetrics } from './_metrics.ts'
import { createOperationsService, type OperationsService } from './_operations.ts'
import type { ResolvedGatewayOptions } from './_options.ts'
import { createHostSecrets } from './_host-secrets.ts'
import { createReconciler, type Reconciler } from './_reconcile.ts'
import { createOperationsRetention, type OperationsRetention } from './_retention.ts'
import { createOperationStore, type WriteFence } from './_store.ts'
import { createSecretStore, resolveSecretsKey, type SecretStore } from './_secrets.ts'
import { createInputValidator, type InputValidator } from './_validate.ts'
import { createWorkerRegistry, type WorkerRegistry } from './_workers.ts'
import type { FunctionRegistry } from './registry/_types.ts'

/** Everything the gateway's routes use; route modules take what they need from it. */
export interface GatewayServices {
  options: ResolvedGatewayOptions
  logger: ConsolaInstance
  storage: KtrdrStorage
  database: GatewayDatabase
  functions: FunctionRegistry
  hooks: GatewayHooks
  operations: OperationsService
  workers: WorkerRegistry
  dispatcher: Dispatcher
  health: HealthMonitor
  reconciler: Reconciler
  client: HostClient
  /** The hosts' channels (one WebSocket each): dispatches and events travel there when one is open. */
  channels: HostChannels
  /** API clients' channels (one WebSocket each) carrying invokes: `GET /api/v1/channel`. */
  clientChannels: ClientChannels
  invoke: Invoker
  /** Packs' gateway-side checks of a function's input: `ctx.invokeChecks.add(defineInvokeCheck(name, check))`. */
  invokeChecks: InvokeChecks
  /** Deletes finished operations older than KTRDR_OPERATIONS_RETENTION_DAYS (at start, then hourly). */
  retention: OperationsRetention
  /** Input-schema validators, compiled at publish and at start (see warmAliasedValidators). */
  validateInput: InputValidator
  /** Per-function secrets, encrypted at rest, sent only with that function's dispatches. */
  secrets: SecretStore
  /** What functions wrote, per operation (bounded, deleted with the operation). */
  logs: OperationLogs
  /** Prometheus metrics served at GET /metrics. */
  metrics: GatewayMetrics
  startedAt: Date
  close(): Promise<void>
}

export interface GatewayServiceOverrides {
  storage?: KtrdrStorage
  functions?: FunctionRegistry
  logger?: ConsolaInstance
  /** PostgreSQL: the leader epoch every write is fenced with, and what to do once another gateway took over. */
  fence?: WriteFence
}

/**
 * Builds the gateway's services (database, registry, scheduler loop, health monitor) without any
 * HTTP server, so the standalone server (createGateway) and the Nitro build share one wiring.
 */
export async function createGatewayServices(
  options: ResolvedGatewayOptions,
  overrides: GatewayServiceOverrides = {},
): Promise<GatewayServices> {
  const logger =
    overrides.logger ?? createKtrdrLogger({ tag: 'gateway', level: options.quiet ? 0 : options.logLevel, format: options.logFormat })
  if (options.databaseUrl && !overrides.fence) {
    // Two gateways writing one database without the leader lock would both dispatch the same queue.
    throw new KtrdrError({
      code: 'CONFIG_INVALID',
      message: 'A gateway on PostgreSQL (KTRDR_DATABASE_URL) must run under the leader lock: start it with createGateway / `ktrdr gateway`',
    })
  }
  const onFile = !options.databaseUrl && options.dbPath !== ':memory:'
  if (onFile) mkdirSync(dirname(options.dbPath), { recursive: true })
  // Two gateways on one database re-queue each other's running operations: refuse the second. On
  // PostgreSQL the leader lock (_leader.ts) and the write fence do this instead.
  const lock = onFile
    ? await lockDatabaseFile(options.dbPath, {
        onCompromised: (error) =>
          logger.error(`Lost the lock on ${options.dbPath} (${error.message}): another gateway may now use this database`),
      })
    : null
  const opened = await openGatewayDatabase(options).catch(async (error) => {
    await lock?.release()
    throw error
  })
  const database: GatewayDatabase =
    opened.dialect === 'postgresql' && overrides.fence ? { ...opened, sql: fenceWrites(opened.sql, overrides.fence) } : opened
  try {
    return await wireGatewayServices(options, overrides, logger, database, lock)
  } catch (error) {
    await database.close().catch(() => {})
    await lock?.release()
    throw error
  }
}

async function wireGatewayServices(
  options: ResolvedGatewayOptions,
  overrides: GatewayServiceOverrides,
  logger: ConsolaInstance,
  database: GatewayDatabase,
  lock: DatabaseLock | null,
): Promise<GatewayServices> {
  const storage = overrides.storage ?? (await createKtrdrStorage(options.storage))
  const hooks = createGatewayHooks((error) => logger.error('Hook listener failed:', error))
  // Hosts are called with the token their registration was checked against (the cluster token,
  // else the API token), so a host that could register can also be dispatched to.
  const client = createHostClient({ clusterToken: options.clusterToken ?? options.apiToken })
  const workers = createWorkerRegistry(hooks)
  const operations = createOperationsService(await createOperationStore(database, overrides.fence), hooks)
  const secrets = await createSecretStore(database, resolveSecretsKey(options))
  const hostSecrets = await createHostSecrets(database)
  const logs = await createOperationLogs({ database, hooks, options: options.logs })
  // Channels are made below; the gauge reads them only when scraped.
  const metrics = createGatewayMetrics({
    hooks,
    operations,
    workers,
    channels: () => ({ host: channels.connected().length, client: clientChannels.connected() }),
  })

  // Dispatcher and health monitor know each other only through hooks (worker:lost, worker:unreachable,
  // worker:status); the dispatcher subscribes first, so a lost host's work is settled before anyone
  // else hears of the loss.
  const dispatcher = createDispatcher({ options, operations, workers, hooks, client, logger, secrets: (name) => secrets.forFunction(name) })
  const health = createHealthMonitor({ options, workers, hooks, client, logger })
  const deadlines = createDeadlineSweeper({ options: options.queue, operations, dispatcher, logger })
  const reconciler = createReconciler({ options, workers, operations, dispatcher, secrets: hostSecrets, logs, logger })
  const channels = createHostChannels({ workers, reconciler, operations, logs, health, hooks, logger })
  client.useChannels(channels.forEndpoint)

  const validateInput = createInputValidator()
  // Tell every host about a new version so the first invocation finds the bundle unpacked, and
  // compile its input schema now so the first invocation does not pay for it either.
  const notify = (version: FunctionVersion) => {
    hooks.emit('function:published', version)
    validateInput.warm(version.sha256, version.manifest.input_schema, `${version.name}@${version.version}`)
    for (const entry of workers.all()) {
      if (entry.lost) continue
      client
        .prefetch(entry.record.endpoint_url, {
          name: version.name,
          version: version.version,
          sha256: version.sha256,
          bundle_key: version.bundle_key,
        })
        .catch((error: Error) => logger.debug(`Prefetch on ${entry.record.worker_id} failed: ${error.message}`))
    }
  }
  const functions: FunctionRegistry =
    overrides.functions ?? (await import('./registry/registry.ts').then((m) => m.createFunctionRegistry({ database, storage, notify })))

  const invokeChecks = createInvokeChecks(logger)
  const invoke = createInvoker({ options, functions, operations, workers, dispatcher, validateInput, checks: invokeChecks, storage })
  const clientChannels = createClientChannels({ invoke, maxWaitSeconds: options.queue.maxWaitSeconds, logger })
  let closed = false
  const warming = warmAliasedValidators(functions, validateInput, () => closed).catch((error: Error) =>
    logger.debug(`Warming input validators failed: ${error.message}`),
  )

  // Durable state back in memory: pending → queue; running → wait for the host to re-attach.
  const restored = await operations.load()
  const running = restored.filter((s) => s.op.status === 'running')
  let reattachTimer: NodeJS.Timeout | null = null
  if (running.length > 0) {
    logger.info(
      `Restored ${restored.length} live operation(s); ${running.length} running wait ${options.queue.reattachGraceMs} ms for their hosts to re-register`,
    )
    reattachTimer = setTimeout(() => {
      for (const s of running) {
        const current = operations.getLive(s.op.operation_id)
        if (!current || current.op.status !== 'running') continue
        const host = current.op.worker_id ? workers.get(current.op.worker_id) : undefined
        if (host && host.running.has(current.op.operation_id)) continue
        operations.requeue(current, `Host ${current.op.worker_id ?? '?'} did not re-attach the operation after the gateway restarted`)
      }
      dispatcher.kick()
    }, options.queue.reattachGraceMs)
    reattachTimer.unref()
  }
  health.start()
  deadlines.start()
  dispatcher.kick()
  // Temp files of writes that died with their process (crash, SIGKILL) would hold disk forever.
  void sweepStorageTemps(storage.options)
    .then((r) => {
      if (r.removed.length > 0)
        logger.info(`Removed ${r.removed.length} stale temporary file(s) (${r.bytes} bytes) of interrupted writes from storage`)
    })
    .catch((error: Error) => logger.warn(`Sweeping stale temporary files failed: ${error.message}`))
  const retention = createOperationsRetention({ options: options.retention, operations, logger })
  retention.start()

  const services: GatewayServices = {
    options,
    logger,
    storage,
    database,
    functions,
    hooks,
    operations,
    workers,
    dispatcher,
    health,
    reconciler,
    client,
    channels,
    clientChannels,
    invoke,
    invokeChecks,
    retention,
    validateInput,
    secrets,
    logs,
    metrics,
    startedAt: new Date(),
    async close() {
      closed = true
      hooks.emit('gateway:close')
      await warming
      if (reattachTimer) clearTimeout(reattachTimer)
      retention.close()
      channels.close()
      clientChannels.close()
      health.close()
      deadlines.close()
      dispatcher.close()
      client.close()
      await operations.flushNow().catch((error: Error) => logger.warn(`Writing the last state changes failed: ${error.message}`))
      await hostSecrets.flushed().catch((error: Error) => logger.warn(`Writing host secrets failed: ${error.message}`))
      if (!overrides.storage) await storage.dispose()
      await database.close()
      await lock?.release()
    },
  }
  return services
}

/**
 * Compiles the input schema of every version an alias points to (latest included), one per
 * event-loop turn so start-up and early requests are not held up; an invocation that arrives
 * first simply compiles its own.
 */
async function warmAliasedValidators(functions: FunctionRegistry, validateInput: InputValidator, stopped: () => boolean): Promise<void> {
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve))
  await turn()
  if (stopped()) return
  for (const fn of await functions.listFunctions()) {
    const versions = new Set(fn.aliases.flatMap((a) => a.routes.map((r) => r.version)))
    for (const v of versions) {
      if (stopped()) return
      const version = await functions.getVersion(fn.name, v)
      if (version) validateInput.warm(version.sha256, version.manifest.input_schema, `${version.name}@${version.version}`)
      await turn()
    }
  }
}
