import { existsSync, promises as fsp } from 'node:fs'
import { join } from 'node:path'
import type { ConsolaInstance } from 'consola'
import type { DispatchRequest, OperationErrorInfo, WorkerCapabilities } from '../protocol/index.ts'
import { errorInfo, toErrorInfo } from '../protocol/index.ts'
import type { ExecutorToHost } from '../protocol/index.ts'
import type { BundleCache } from './_bundles.ts'
import type { NewHostEvent } from './_events.ts'
import type { Executor, ExecutorPool } from './_executors.ts'
import type { ResolvedHostOptions } from './options.ts'
import { functionEnv } from './_env.ts'
import { createLogCollector } from './_logs.ts'
import type { StorageAccess } from './_storage-proxy.ts'

export type InvocationOutcome =
  | { status: 'completed'; result: unknown }
  | { status: 'failed'; error: OperationErrorInfo }
  | { status: 'cancelled'; reason: string; requeue?: boolean }

export interface Invocation {
  request: DispatchRequest
  accepted_at: number
  executor: Executor | null
  /** `requeue`: hand the operation back to the gateway to run elsewhere (host shutdown), not a user cancel. */
  cancel(reason?: string, options?: { requeue?: boolean }): void
  done: Promise<InvocationOutcome & { operation_id: string; attempt: number; pid: number | null; timings: Record<string, number> }>
}

export interface InvocationDeps {
  options: ResolvedHostOptions
  cache: BundleCache
  pool: ExecutorPool
  emit(event: NewHostEvent): void
  capabilities: WorkerCapabilities
  logger: ConsolaInstance
  storageAccess: StorageAccess
}

const now = () => new Date().toISOString()

/**
 * One invocation from dispatch to its terminal event: bundle ready → executor → started →
 * progress… → completed | failed | cancelled. Every path ends in exactly one terminal event and
 * returns the executor (or kills it), so the host's slots and state stay consistent whatever the function does.
 */
export function startInvocation(request: DispatchRequest, deps: InvocationDeps): Invocation {
  const { options, cache, pool, logger } = deps
  // `started` waits up to options.startedHoldMs (5 ms) for the invocation's next event and goes with it: a short
  // call then costs the gateway one event batch (started + completed) instead of two, each a wake-up,
  // a state write and an ack back. The operation is already running at the gateway (the dispatch's
  // answer says so) and the event keeps its own timestamp, so nothing a reader sees changes but when.
  let heldStart: NewHostEvent | null = null
  let holdTimer: NodeJS.Timeout | null = null
  const releaseStart = () => {
    if (holdTimer) clearTimeout(holdTimer)
    holdTimer = null
    const event = heldStart
    heldStart = null
    if (event) deps.emit(event)
  }
  const emit = (event: NewHostEvent) => {
    releaseStart()
    deps.emit(event)
  }
  const base = { operation_id: request.operation_id, attempt: request.attempt }
  const timings: Record<string, number> = { accepted: Date.now() }
  let cancelReason: string | null = null
  let handBack = false
  let timedOut = false
  let killTimer: NodeJS.Timeout | null = null
  // Cancelled or past its deadline, read at each step of run(). Not an AbortController: nothing
  // listened to its signal, and one per invocation cost the host ≈2 µs of its ≈100 per call.
  const interrupted = () => cancelReason !== null || timedOut
  // The outcome is known (the function answered, failed or was stopped): a cancel or deadline that
  // arrives now, while the invocation hands its executor back, has nothing left to stop. It used to
  // interrupt anyway, between the cleared kill timer and the executor's release: the warm executor
  // was discarded, and killed a grace period later with a "did not stop" warning. In the peers
  // bench, whose direct calls the gateway cancels as unknown, a host lost 11 of its 16 warm
  // executors so in one round (`npm run bench -- peers`).
  let settled = false
  const messageId = `${request.operation_id}#${request.attempt}`
  const logs = createLogCollector(emit, base)
  // Made when the first ctx.logger line is forwarded: withTag builds a consola instance, and most invocations never log.
  let fnLogger: ConsolaInstance | null = null

  const invocation: Invocation = {
    request,
    accepted_at: timings.accepted!,
    executor: null,
    cancel(reason = 'Cancelled by request', cancelOptions = {}) {
      if (cancelReason || timedOut || settled) return
      cancelReason = reason
      handBack = cancelOptions.requeue === true
      interrupt(reason)
    },
    done: undefined as never,
  }

  /** Ask the function to stop (AbortSignal in the child); kill the child if it has not within the grace period. */
  function interrupt(reason: string) {
    const executor = invocation.executor
    if (!executor) return
    // The deadline's only timer is this host's (the executor keeps none): the function's ctx.signal
    // says FUNCTION_TIMEOUT from this message.
    executor.send({ type: 'cancel', id: messageId, reason, code: timedOut ? 'FUNCTION_TIMEOUT' : 'CANCELLED' })
    killTimer ??= setTimeout(() => {
      const why = `${request.operation_id} did not stop within ${options.cancelGraceMs} ms of ${timedOut ? 'its deadline' : 'cancel'}`
      logger.warn(`${why}; killing pid ${executor.pid}`)
      if (executor.active > 1) executor.killedFor ??= why
      executor.kill('SIGKILL')
    }, options.cancelGraceMs)
  }

  const deadlineTimer = setTimeout(
    () => {
      if (cancelReason || settled) return
      timedOut = true
      interrupt(`Deadline passed after ${request.function.timeout_seconds} s`)
    },
    clampDelay(request.deadline_ms - Date.now()),
  )

  async function run(): Promise<InvocationOutcome> {
    let bundle = await cache.ensure(request.function)
    timings.bundle_ready = Date.now()
    if (interrupted()) return stopped()
    // The executor creates it when the function first reads ctx.scratchDir; removed below either way.
    const scratchDir = join(options.cacheDir, 'scratch', `${request.operation_id}-${request.attempt}`)
    const env = () => functionEnv(bundle.manifest, bundle.version, request.secrets)
    const executor = await pool
      .acquire(bundle, env())
      .catch(async (error) => {
        // A cached bundle damaged on disk fails to import: re-verify it, refetch once, try again.
        if ((error as { code?: string }).code !== 'BUNDLE_IMPORT_FAILED' || !(await cache.repair(bundle))) throw error
        logger.warn(`${request.operation_id}: cached bundle ${bundle.name}@${bundle.version} was damaged; fetched it again`)
        bundle = await cache.ensure(request.function)
        return pool.acquire(bundle, env())
      })
      .catch(async (error) => {
        await fsp.rm(scratchDir, { recursive: true, force: true }).catch(() => {})
        throw error
      })
    invocation.executor = executor
    timings.executor_ready = Date.now()
    if (interrupted()) {
      pool.release(executor)
      await fsp.rm(scratchDir, { recursive: true, force: true }).catch(() => {})
      return stopped()
    }
    // A shared executor's output cannot be told apart by invocation: it stays in the host's log.
    const ownsOutput = executor.capacity === 1
    if (ownsOutput) executor.onOutput = (stream, line) => logs.add(stream, stream === 'stderr' ? 'error' : 'info', line)
    heldStart = {
      type: 'started',
      ...base,
      at: now(),
      accepted_at: new Date(timings.accepted!).toISOString(),
      bundle_ready_at: new Date(timings.bundle_ready!).toISOString(),
    }
    holdTimer = setTimeout(releaseStart, options.startedHoldMs)
    // What the executor's result says about the scratch directory (undefined: it did not say).
    let scratchMade: boolean | undefined
    const grant = deps.storageAccess.grant(bundle.manifest.storage ?? {}, `Function ${bundle.name}@${bundle.version}`)
    try {
      const outcome = await new Promise<InvocationOutcome>((resolve) => {
        const onMessage = (message: ExecutorToHost) => {
          if (message.type === 'log') {
            logs.add('logger', message.level, message.message)
            // The host's own output (journald) keeps showing what functions log, at the host's level.
            if (options.forwardExecutorOutput) {
              const tagged = (fnLogger ??= logger.withTag(request.operation_id))
              const write = (tagged as unknown as Record<string, unknown>)[message.level]
              ;(typeof write === 'function' ? (write as (m: string) => void) : tagged.info).call(tagged, message.message)
            }
          } else if (message.type === 'progress') {
            logs.flush()
            emit({
              type: 'progress',
              ...base,
              at: now(),
              progress: {
                percentage: message.progress.percentage,
                current_step: message.progress.current_step ?? null,
                context: message.progress.context ?? {},
              },
            })
          } else if (message.type === 'result') {
            cleanup()
            scratchMade = message.scratch
            if (cancelReason || timedOut) return resolve(stopped())
            resolve(message.ok ? { status: 'completed', result: message.result } : { status: 'failed', error: message.error })
          }
        }
        const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
          cleanup()
          if (cancelReason || timedOut) return resolve(stopped())
          const error = crashError(executor, code, signal, options.executorMemoryMb)
          // A crash may come from damaged cached code: the next invocation then gets a fresh copy.
          if (error.code === 'FUNCTION_CRASHED' && !executor.killedFor) void cache.repair(bundle).catch(() => {})
          resolve({ status: 'failed', error })
        }
        const cleanup = executor.listen(messageId, { message: onMessage, exit: onExit })
        executor.send({
          type: 'invoke',
          id: messageId,
          operation_id: request.operation_id,
          attempt: request.attempt,
          input: request.input,
          deadline_ms: request.deadline_ms,
          storage: grant.storage,
          scratch_dir: scratchDir,
          log_level: options.logLevel,
          host: { workerId: options.workerId, workerType: options.workerType, capabilities: deps.capabilities },
        })
        if (interrupted()) interrupt(cancelReason ?? 'Deadline passed')
      })
      return outcome
    } finally {
      settled = true
      grant.revoke()
      if (killTimer) clearTimeout(killTimer)
      // What the child wrote to stdout just before its result is already in the pipe, but its
      // 'data' may be handled after the IPC message of the same poll: one turn picks it up.
      if (ownsOutput) {
        await new Promise<void>((resolve) => setImmediate(resolve))
        executor.onOutput = null
      }
      // A child that was interrupted may still hold state from the aborted run: never reuse it.
      if (executor.alive && !cancelReason && !timedOut) pool.release(executor)
      else pool.discard(executor)
      // Off the answer's path: most invocations never created it (ctx.scratchDir is lazy), and the
      // result says so; without a result (a crash, a kill) or from an older bundle, look.
      if (scratchMade !== false && existsSync(scratchDir)) void fsp.rm(scratchDir, { recursive: true, force: true }).catch(() => {})
    }
  }

  function stopped(): InvocationOutcome {
    if (timedOut)
      return {
        status: 'failed',
        error: errorInfo(
          'FUNCTION_TIMEOUT',
          `Function ${request.function.name}@${request.function.version} ran past its deadline (${request.function.timeout_seconds} s) and was stopped`,
        ),
      }
    return { status: 'cancelled', reason: cancelReason ?? 'Cancelled', ...(handBack ? { requeue: true } : {}) }
  }

  invocation.done = run()
    .catch((error): InvocationOutcome =>
      cancelReason || timedOut ? stopped() : { status: 'failed', error: toErrorInfo(error, 'FUNCTION_ERROR') },
    )
    .then((outcome) => {
      clearTimeout(deadlineTimer)
      timings.finished = Date.now()
      // Every line before the terminal event: whoever follows the log sees it all before the end.
      logs.close()
      const at = now()
      if (outcome.status === 'completed') emit({ type: 'completed', ...base, at, result: outcome.result })
      else if (outcome.status === 'failed') emit({ type: 'failed', ...base, at, error: outcome.error })
      else emit({ type: 'cancelled', ...base, at, reason: outcome.reason, ...(outcome.requeue ? { requeue: true } : {}) })
      // Onto the outcome made for this invocation: two spreads and two new keys took 1.8 µs on Node 20.
      return Object.assign(outcome, base, { pid: invocation.executor?.pid ?? null, timings })
    })
  return invocation
}

/** setTimeout fires at once for delays past 2^31-1 ms (~24.8 days): clamp instead. */
function clampDelay(ms: number): number {
  return Math.min(Math.max(0, ms), 2 ** 31 - 1)
}

function crashError(executor: Executor, code: number | null, signal: NodeJS.Signals | null, memoryMb: number): OperationErrorInfo {
  const tail = executor.stderrTail()
  const lastLines = tail.trim().split('\n').slice(-4).join(' | ')
  if (executor.outOfMemory || /heap out of memory|Allocation failed|JavaScript heap/i.test(tail)) {
    const used = executor.outOfMemory?.rss_mb ? ` (resident ${executor.outOfMemory.rss_mb} MB)` : ''
    return errorInfo(
      'FUNCTION_OUT_OF_MEMORY',
      `Function ${executor.name}@${executor.version} ran out of memory${used}: limit ${memoryMb} MB, KTRDR_HOST_EXECUTOR_MEMORY_MB; it was stopped`,
      { pid: executor.pid, signal, exit_code: code, limit_mb: memoryMb, rss_mb: executor.outOfMemory?.rss_mb ?? null },
    )
  }
  if (executor.killedFor)
    return errorInfo(
      'FUNCTION_CRASHED',
      `Function ${executor.name}@${executor.version} was stopped with the executor it shared (concurrency ${executor.capacity}): ${executor.killedFor}`,
      { pid: executor.pid, signal, exit_code: code },
    )
  return errorInfo(
    'FUNCTION_CRASHED',
    `Function ${executor.name}@${executor.version} exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`})${lastLines ? `: ${lastLines}` : ''}`,
    { pid: executor.pid, signal, exit_code: code },
  )
}
