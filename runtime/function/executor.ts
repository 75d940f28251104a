// Entry of every function bundle: Nitro bundles this file with the function aliased as
// `#ktrdr/function` (runtime/function/_nitro.ts), so the built server/index.mjs needs nothing but
// Node. A host runs it in a child process with an IPC channel, forked directly or imported by a
// pre-started spare (runtime/host/_spare.mjs); it answers `ready`, then runs every `invoke` it is
// sent (several may overlap) and aborts one on `cancel`. With KTRDR_EXECUTOR_DESCRIBE=1 it prints
// the function's description instead: the builder reads the manifest from the built bundle.
import { MOUNT_NAMES, type KtrdrStorage } from '../../storage/index.ts'
import { createScopedStorage } from './_scope.ts'
import { KtrdrError, errorInfo, toErrorInfo } from '../protocol/index.ts'
import type { FunctionDefinition, ProgressUpdate } from './define.ts'
import { createFunctionContext } from './context.ts'
import type { ExecutorToHost, HostToExecutor, InvokeMessage } from '../protocol/index.ts'
import { validateInput } from './_input.ts'
import { describeFunction } from './_describe.ts'
import { createInvocationLogger } from './_logger.ts'

const PROGRESS_FLUSH_MS = 50

function send(message: ExecutorToHost): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve()
    process.send(message, undefined, {}, () => resolve())
  })
}

/**
 * Storage per declared scope. Direct (fs) storage carries no token and is kept for the next
 * invocation; storage through the host's endpoint holds a capability that ends with its
 * invocation, so it is dropped after each.
 */
const storages = new Map<string, Promise<KtrdrStorage>>()
function useStorage(options: InvokeMessage['storage']): { storage: Promise<KtrdrStorage>; release(): void } {
  const viaHost = MOUNT_NAMES.some((m) => options.mounts[m].driver === 'http')
  if (viaHost) {
    const storage = createScopedStorage(options)
    return { storage, release: () => void storage.then((s) => s.dispose()).catch(() => {}) }
  }
  const key = JSON.stringify(options)
  let storage = storages.get(key)
  if (!storage) storages.set(key, (storage = createScopedStorage(options)))
  return { storage, release: () => {} }
}

/**
 * An invocation in flight. Its AbortController is made when the function first reads ctx.signal, or
 * when it is stopped: most invocations do neither. The host stops an invocation at its deadline
 * with a `cancel` that says FUNCTION_TIMEOUT, so the executor keeps no timer of its own. With both
 * gone, a warm no-op costs its executor 58 µs of CPU instead of 74 when driven alone, and 100 instead
 * of 147 per call across the 16 executors of a c=16 load, where each call runs in a process whose
 * caches went cold since its last (docs/decisions.md, issue 17's fifth pass).
 */
interface Running {
  controller: AbortController | null
}
const running = new Map<string, Running>()
const controllerOf = (r: Running) => (r.controller ??= new AbortController())
const aborted = (r: Running) => r.controller?.signal.aborted ?? false

/**
 * One invocation: input validated, a ctx whose AbortSignal fires on cancel or at the deadline (the
 * host's cancel, 504 FUNCTION_TIMEOUT), then exactly one `result` message, after the last progress update.
 */
async function invoke(fn: FunctionDefinition, message: InvokeMessage): Promise<void> {
  const current: Running = { controller: null }
  running.set(message.id, current)
  // Functions may report progress in a hot loop: keep the latest and flush it at most every 50 ms.
  let pending: ProgressUpdate | null = null
  let flushTimer: NodeJS.Timeout | null = null
  const flush = () => {
    flushTimer = null
    if (pending) void send({ type: 'progress', id: message.id, progress: pending })
    pending = null
  }
  const storage = useStorage(message.storage)
  // Whether ctx.scratchDir was read (and so made): the host then skips its stat for the directory
  // after each invocation that never made one, which is most.
  let scratch = false
  try {
    const input = validateInput(fn, message.input)
    const ctx = createFunctionContext({
      operationId: message.operation_id,
      attempt: message.attempt,
      signal: () => controllerOf(current).signal,
      storage: await storage.storage,
      scratchDir: message.scratch_dir,
      host: message.host,
      logger: () =>
        createInvocationLogger(message.operation_id, message.log_level, (line) => void send({ type: 'log', id: message.id, ...line })),
      onProgress(update) {
        pending = update
        flushTimer ??= setTimeout(flush, PROGRESS_FLUSH_MS)
      },
      onScratch: () => {
        scratch = true
      },
    })
    const result = await fn.run(input, ctx)
    if (flushTimer) clearTimeout(flushTimer)
    flush()
    await send({ type: 'result', id: message.id, ok: true, result: result ?? null, aborted: aborted(current), scratch })
  } catch (error) {
    if (flushTimer) clearTimeout(flushTimer)
    flush()
    await send({
      type: 'result',
      id: message.id,
      ok: false,
      error: toErrorInfo(error, 'FUNCTION_ERROR'),
      aborted: aborted(current),
      scratch,
    })
  } finally {
    running.delete(message.id)
    storage.release()
  }
}

async function main() {
  let fn: FunctionDefinition
  try {
    // @ts-ignore resolved by the bundler (alias set in runtime/bundler/_nitro.ts)
    const mod = await import('#ktrdr/function')
    fn = (mod.default ?? mod) as FunctionDefinition
    if (!fn || typeof fn.run !== 'function') throw new Error('The function module must `export default defineFunction({...})`')
  } catch (error) {
    const info = toErrorInfo(error)
    // Without a host (the builder's describe run) nobody reads IPC: the error goes to stderr, where
    // the builder reads it (it said only "Command failed: node …/index.mjs" before).
    if (!process.send) {
      const stack = error instanceof Error && error.stack ? error.stack : info.message
      await new Promise<void>((resolve) => process.stderr.write(`Function bundle failed to load: ${stack}\n`, () => resolve()))
    }
    await send({
      type: 'load_error',
      error: errorInfo('BUNDLE_IMPORT_FAILED', `Function bundle failed to load: ${info.message}`, info.details),
    })
    process.exit(1)
  }
  if (process.env.KTRDR_EXECUTOR_DESCRIBE === '1') {
    // Used by the builder: the manifest is read from the built bundle itself, so it always matches the code.
    process.stdout.write(`${JSON.stringify(describeFunction(fn))}\n`, () => process.exit(0))
    return
  }
  process.on('message', (message: HostToExecutor) => {
    if (message.type === 'invoke') void invoke(fn, message)
    else if (message.type === 'cancel') {
      const r = running.get(message.id)
      const code = message.code === 'FUNCTION_TIMEOUT' ? 'FUNCTION_TIMEOUT' : 'CANCELLED'
      // abort() is a no-op on a controller already aborted: the first reason stays.
      if (r) controllerOf(r).abort(new KtrdrError({ code, message: message.reason || 'Operation cancelled' }))
    }
  })
  // The host owns our life: when it goes away, so do we.
  process.on('disconnect', () => process.exit(0))
  process.on('uncaughtException', (error) => {
    const info = toErrorInfo(error, 'FUNCTION_ERROR')
    void Promise.all(
      [...running.keys()].map((id) =>
        send({
          type: 'result',
          id,
          ok: false,
          error: { ...info, message: `Uncaught exception in function: ${info.message}` },
          aborted: false,
        }),
      ),
    ).finally(() => process.exit(1))
  })
  await send({ type: 'ready', pid: process.pid, name: fn.name })
}

void main()
