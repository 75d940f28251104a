import { createConsola, type ConsolaInstance } from 'consola'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { createKtrdrStorage, sweepStorageTemps, type KtrdrStorage } from '../../storage/index.ts'
import type { FunctionVersion } from '../protocol/index.ts'
import { createGatewayDatabase, type GatewayDatabase } from './_db.ts'
import { lockDatabaseFile } from './_lock.ts'
import { createDispatcher, type Dispatcher } from './_dispatcher.ts'
import { createHealthMonitor, type HealthMonitor } from './_health.ts'
import { createGatewayHooks, type GatewayHooks } from './_hooks.ts'
import { createHostClient, type HostClient } from './_host-client.ts'
import { createInvoker, type Invoker } from './_invoke.ts'
import { createInvokeChecks, type InvokeChecks } from './_invoke-checks.ts'
import { createOperationsService, type OperationsService } from './_operations.ts'
import type { ResolvedGatewayOptions } from './_options.ts'
import { createHostSecrets } from './_host-secrets.ts'
import { createReconciler, type Reconciler } from './_reconcile.ts'
import { createOperationsRetention, type OperationsRetention } from './_retention.ts'
import { createOperationStore } from './_store.ts'
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
  invoke: Invoker
  /** Packs' gateway-side checks of a function's input: `ctx.invokeChecks.add(defineInvokeCheck(name, check))`. */
  invokeChecks: InvokeChecks
  /** Deletes finished operations older than KTRDR_OPERATIONS_RETENTION_DAYS (at start, then hourly). */
  retention: OperationsRetention
  /** Input-schema validators, compiled at publish and at start (see warmAliasedValidators). */
  validateInput: InputValidator
  /** Per-function secrets, encrypted at rest, sent only with that function's dispatches. */
  secrets: SecretStore
  startedAt: Date
  close(): Promise<void>
}

export interface GatewayServiceOverrides {
  storage?: KtrdrStorage
  functions?: FunctionRegistry
  logger?: ConsolaInstance
}

/**
 * Builds the gateway's services (database, registry, scheduler loop, health monitor) without any
 * HTTP server, so the standalone server (createGateway) and the Nitro build share one wiring.
 */
export async function createGatewayServices(
  options: ResolvedGatewayOptions,
  overrides: GatewayServiceOverrides = {},
): Promise<GatewayServices> {
  const logger = overrides.logger ?? createConsola({ level: options.quiet ? 0 : 3 }).withTag('gateway')
  if (options.dbPath !== ':memory:') mkdirSync(dirname(options.dbPath), { recursive: true })
  // Two gateways on one database re-queue each other's running operations: refuse the second.
  const lock =
    options.dbPath === ':memory:'
      ? null
      : await lockDatabaseFile(options.dbPath, {
          onCompromised: (error) =>
            logger.error(`Lost the lock on ${options.dbPath} (${error.message}): another gateway may now use this database`),
        })
  const database = await createGatewayDatabase(options.dbPath).catch(async (error) => {
    await lock?.release()
    throw error
  })
  const storage = overrides.storage ?? (await createKtrdrStorage(options.storage))
  const hooks = createGatewayHooks((error) => logger.error('Hook listener failed:', error))
  // Hosts are called with the token their registration was checked against (the cluster token,
  // else the API token), so a host that could register can also be dispatched to.
  const client = createHostClient({ clusterToken: options.clusterToken ?? options.apiToken })
  const workers = createWorkerRegistry(hooks)
  const operations = createOperationsService(createOperationStore(database), hooks)
  const secrets = createSecretStore(database, resolveSecretsKey(options))

  let dispatcherRef: Dispatcher | null = null
  let healthRef: HealthMonitor | null = null
  const dispatcher = createDispatcher({
    options,
    operations,
    workers,
    client,
    logger,
    onUnreachable: (entry) => void healthRef?.probe(entry, 'dispatch could not reach it'),
    secrets: (name) => secrets.forFunction(name),
  })
  dispatcherRef = dispatcher
  const health = createHealthMonitor({ options, workers, operations, dispatcher, client, logger })
  healthRef = health
  const reconciler = createReconciler({ options, workers, operations, dispatcher, secrets: createHostSecrets(database), logger })

  const validateInput = createInputValidator()
  // Tell every host about a new version so the first invocation finds the bundle unpacked, and
  // compile its input schema now so the first invocation does not pay for it either.
  const notify = (version: FunctionVersion) => {
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
  const invoke = createInvoker({
    options,
    functions,
    operations,
    workers,
    dispatcher: dispatcherRef,
    validateInput,
    checks: invokeChecks,
    storage,
  })
  let closed = false
  const warming = warmAliasedValidators(functions, validateInput, () => closed).catch((error: Error) =>
    logger.debug(`Warming input validators failed: ${error.message}`),
  )

  // Durable state back in memory: pending → queue; running → wait for the host to re-attach.
  const restored = operations.load()
  const running = restored.filter((s) => s.op.status === 'running')
  let reattachTimer: NodeJS.Timeout | null = null
  if (running.length > 0) {
    logger.info(
      `Restored ${restored.length} live operation(s); ${running.length} running wait ${options.queue.reattachGraceMs} ms for their hosts to re-register`,
    )
    reattachTimer = setTimeout(() => {
      for (const s of running) {
        const current = operations.live.get(s.op.operation_id)
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
  dispatcher.kick()
  // Temp files of writes that died with their process (crash, SIGKILL) would hold disk forever.
  void sweepStorageTemps(storage.options)
    .then((r) => {
      if (r.removed.length > 0)
        logger.info(`Removed ${r.removed.length} stale temporary file(s) (${r.bytes} bytes) of interrupted writes from storage`)
    })
    .catch((error: Error) => logger.warn(`Sweeping stale temporary files failed: ${error.message}`))
  const retention = createOperationsRetention({ options: options.retention, database, operations, logger })
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
    invoke,
    invokeChecks,
    retention,
    validateInput,
    secrets,
    startedAt: new Date(),
    async close() {
      closed = true
      hooks.emit('gateway:close')
      await warming
      if (reattachTimer) clearTimeout(reattachTimer)
      retention.close()
      health.close()
      dispatcher.close()
      client.close()
      operations.flushNow()
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
