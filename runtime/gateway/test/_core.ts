// The gateway's core wired in-process as _services.ts wires it (operations on an in-memory SQLite
// store, the worker registry, dispatcher, health monitor, reconciler and invoker), without HTTP
// routes or timers, on a clock the test moves; and loopback hosts whose every answer the test scripts.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createConsola } from 'consola'
import { afterEach, expect } from 'vitest'
import type { DispatchRequest, HostEvent, Operation, WorkerRegistration } from '../../protocol/index.ts'
import { createGatewayDatabase } from '../_db.ts'
import { createDeadlineSweeper } from '../_deadlines.ts'
import { createDispatcher } from '../_dispatcher.ts'
import { createHealthMonitor } from '../_health.ts'
import { createGatewayHooks, type GatewayHookMap, type GatewayHookName } from '../_hooks.ts'
import { createHostClient } from '../_host-client.ts'
import { createOperationLogs } from '../_logs.ts'
import { createHostSecrets } from '../_host-secrets.ts'
import { createInvoker, type InvokeRequest } from '../_invoke.ts'
import { createInvokeChecks } from '../_invoke-checks.ts'
import { createOperationsService } from '../_operations.ts'
import { resolveGatewayOptions, type GatewayConfig } from '../_options.ts'
import { createReconciler } from '../_reconcile.ts'
import { createOperationStore, type OperationStoreOptions } from '../_store.ts'
import { createInputValidator } from '../_validate.ts'
import { createWorkerRegistry, type WorkerEntry } from '../_workers.ts'
import { createFakeRegistry } from './_fakes.ts'
import { DEFAULT_MANIFESTS, tempStorage } from '../../../test/kit/index.ts'

export interface TestClock {
  now(): number
  advance(ms: number): void
}

export function createTestClock(start = Date.UTC(2026, 0, 1)): TestClock {
  let t = start
  return {
    now: () => t,
    advance(ms) {
      t += ms
    },
  }
}

/** A host event as a test writes it: seq and at are filled in. */
type EventInput = (HostEvent extends infer E ? (E extends HostEvent ? Omit<E, 'seq' | 'at'> : never) : never) & {
  seq?: number
  at?: string
}

/** Calls of each hook, in order, with their arguments. */
export type HookLog = { [K in GatewayHookName]?: Array<Parameters<GatewayHookMap[K]>> }

export async function createTestCore(config: Pick<GatewayConfig, 'health' | 'queue'> = {}, store: OperationStoreOptions = {}) {
  const clock = createTestClock()
  const options = resolveGatewayOptions({ quiet: true, dbPath: ':memory:', apiToken: null, clusterToken: null, ...config }, {})
  const logger = createConsola({ level: 0 })
  const listenerErrors: unknown[] = []
  const hooks = createGatewayHooks((error) => listenerErrors.push(error))
  const log: HookLog = {}
  for (const name of ['worker:lost', 'worker:unreachable', 'worker:removed', 'operation:requeued'] as const) {
    hooks.on(name, ((...args: unknown[]) => {
      ;((log[name] ??= []) as unknown[][]).push(args)
    }) as GatewayHookMap[typeof name])
  }
  const database = await createGatewayDatabase(':memory:')
  const storage = await tempStorage('ktrdr-core-')
  const operations = createOperationsService(await createOperationStore(database, undefined, store), hooks)
  const workers = createWorkerRegistry(hooks, clock.now)
  const client = createHostClient({ clusterToken: null })
  // The order of _services.ts: the dispatcher hears of a lost host first.
  const dispatcher = createDispatcher({ options, operations, workers, hooks, client, logger })
  const health = createHealthMonitor({ options, workers, hooks, client, logger, now: clock.now })
  const deadlines = createDeadlineSweeper({ options: options.queue, operations, dispatcher, logger, now: clock.now })
  const reconciler = createReconciler({
    options,
    workers,
    operations,
    dispatcher,
    secrets: await createHostSecrets(database),
    logs: await createOperationLogs({ database, hooks, options: options.logs }),
    logger,
    now: clock.now,
  })
  const invoker = createInvoker({
    options,
    functions: createFakeRegistry(DEFAULT_MANIFESTS),
    operations,
    workers,
    dispatcher,
    validateInput: createInputValidator(),
    // No pack registers checks here; the storage is what they would read.
    checks: createInvokeChecks(logger),
    storage: storage.storage,
  })
  let seq = 0

  return {
    clock,
    options,
    /** The in-memory database the operations are stored in. */
    database,
    /** The invoker, as the invoke route calls it. */
    invoker,
    hooks,
    log,
    listenerErrors,
    operations,
    workers,
    dispatcher,
    health,
    deadlines,
    reconciler,
    /** Accepts an invocation (committed and queued) and returns its id. */
    async invoke(name: string, request: InvokeRequest = {}): Promise<string> {
      return (await invoker(name, { input: {}, ...request })).operation.operation_id
    },
    /** The operation as a caller would see it now. */
    async op(id: string): Promise<Operation> {
      return (await operations.require(id)).op
    },
    /** Registers a host as its first registration does (the reconciler, as the route calls it). */
    register(host: ScriptedHost, slots = 1, extra: Partial<WorkerRegistration> = {}): WorkerEntry {
      const response = reconciler.register(host.registration(slots, extra), host.secret)
      host.secret ??= response.host_secret
      return workers.require(host.workerId)
    },
    /** A host pushes one event (through the reconciler, as the events route does). */
    push(host: ScriptedHost, event: EventInput) {
      const full = { seq: ++seq, at: new Date(clock.now()).toISOString(), ...event } as HostEvent
      return reconciler.applyEvents(host.workerId, workers.get(host.workerId), [full])
    },
    /** Resolves with the arguments of the next call of `name` that `match`es. */
    next<K extends GatewayHookName>(name: K, match: (...args: Parameters<GatewayHookMap[K]>) => boolean = () => true) {
      const emitter = new EventTarget()
      let args: Parameters<GatewayHookMap[K]> | null = null
      const off = hooks.on(name, ((...a: Parameters<GatewayHookMap[K]>) => {
        if (args || !match(...a)) return
        args = a
        emitter.dispatchEvent(new Event('hook'))
      }) as GatewayHookMap[K])
      return when(emitter, 'hook', () => args !== null, `hook ${name}`).then(
        () => (off(), args!),
        (error: Error) => {
          off()
          throw error
        },
      )
    },
    /** Resolves once `done()` holds, checked now and after every operation or worker hook. */
    settle(done: () => boolean, what: string): Promise<void> {
      const emitter = new EventTarget()
      const offs = (['operation:updated', 'operation:finished', 'operation:requeued', 'worker:status'] as const).map((name) =>
        hooks.on(name, () => emitter.dispatchEvent(new Event('change'))),
      )
      const stop = () => offs.forEach((off) => off())
      return when(emitter, 'change', done, what).then(stop, (error: Error) => {
        stop()
        throw error
      })
    },
    async close() {
      dispatcher.close()
      health.close()
      deadlines.close()
      client.close()
      await operations.flushNow()
      await database.close()
      await storage.cleanup()
    },
  }
}

export type TestCore = Awaited<ReturnType<typeof createTestCore>>

interface Deferred<T> {
  promise: Promise<T>
  resolve(value: T): void
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/** What a test waits for happens within this, or the test fails saying what it waited for (no hang). */
const WAIT_MS = 10_000

/** Resolves once `done()` holds, checked now and on every `event`. */
function when(target: EventTarget, event: string, done: () => boolean, what: string): Promise<void> {
  if (done()) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!done()) return
      clearTimeout(timer)
      target.removeEventListener(event, check)
      resolve()
    }
    const timer = setTimeout(() => {
      target.removeEventListener(event, check)
      reject(new Error(`Gave up after ${WAIT_MS} ms waiting for ${what}`))
    }, WAIT_MS)
    target.addEventListener(event, check)
  })
}

const readJson = async (req: IncomingMessage): Promise<any> => {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null')
}

/**
 * A host on loopback that answers what the test says: each dispatch with `answer` (202 by default;
 * `hold()` keeps the answer back until the test releases it), /health with `healthStatus`.
 */
export async function startScriptedHost(workerId: string) {
  const received: DispatchRequest[] = []
  const cancels: string[] = []
  const events = new EventTarget()
  const held: Array<{ request: DispatchRequest; answer: Deferred<number> }> = []
  // holding: dispatch answers wait for release(); healthHold: /health never answers (a wedged host).
  const state = { healthStatus: 200, healthHold: false, holding: false, dispatchStatus: 202 }

  const server: Server = createServer(async (req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (req.method === 'POST' && req.url === '/invocations') {
      const request = (await readJson(req)) as DispatchRequest
      received.push(request)
      events.dispatchEvent(new Event('dispatch'))
      let status = state.dispatchStatus
      if (state.holding) {
        const answer = deferred<number>()
        held.push({ request, answer })
        status = await answer.promise
      }
      return reply(status, { accepted: status === 202 })
    }
    if (req.method === 'DELETE' && req.url?.startsWith('/invocations/')) {
      cancels.push(decodeURIComponent(req.url.slice('/invocations/'.length)))
      reply(202, { accepted: true })
      events.dispatchEvent(new Event('cancel'))
      return
    }
    if (req.method === 'GET' && req.url === '/health') {
      if (state.healthHold) return
      return reply(state.healthStatus, { healthy: state.healthStatus === 200, service: 'ktrdr-host', worker_id: workerId })
    }
    reply(404, {})
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const host = {
    workerId,
    url,
    received,
    cancels,
    state,
    /** The host secret the gateway issued at the first registration. */
    secret: undefined as string | undefined,
    registration(slots: number, extra: Partial<WorkerRegistration> = {}): WorkerRegistration {
      return {
        worker_id: workerId,
        worker_type: 'general',
        endpoint_url: url,
        capabilities: { cores: 2, memory_gb: 4, gpu: false, ib: false, llm: false, slots },
        ...extra,
      }
    },
    /** Resolves once `count` dispatches have arrived in all. */
    dispatches(count: number): Promise<void> {
      return when(events, 'dispatch', () => received.length >= count, `${count} dispatch(es) at ${workerId}`)
    },
    /** Resolves once the gateway has asked this host to stop `operationId`. */
    cancelled(operationId: string): Promise<void> {
      return when(events, 'cancel', () => cancels.includes(operationId), `a cancel of ${operationId} at ${workerId}`)
    },
    /** Answers the held dispatches (all of them, in arrival order) with `status`. */
    release(status = 202) {
      for (const h of held.splice(0)) h.answer.resolve(status)
    },
    /** Nothing listens any more: connections are refused (a dead process). */
    async kill() {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
  return host
}

export type ScriptedHost = Awaited<ReturnType<typeof startScriptedHost>>

/**
 * A test file's cores and scripted hosts, closed after each test (a core also checks that no hook
 * listener threw). Call once at the top of the file.
 */
export function useTestCores() {
  const cleanups: Array<() => Promise<unknown>> = []
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!()
  })
  return {
    async core(...args: Parameters<typeof createTestCore>): Promise<TestCore> {
      const c = await createTestCore(...args)
      cleanups.push(async () => {
        await c.close()
        expect(c.listenerErrors).toEqual([])
      })
      return c
    },
    async host(id: string): Promise<ScriptedHost> {
      const h = await startScriptedHost(id)
      cleanups.push(() => h.kill())
      return h
    },
  }
}

/** For `until`: the operation runs on that host. */
export const runningOn = (c: TestCore, id: string, workerId: string) => () => {
  const s = c.operations.getLive(id)
  return s?.op.status === 'running' && s.op.worker_id === workerId
}
