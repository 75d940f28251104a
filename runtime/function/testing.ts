// Helpers for unit-testing a function without building it: real storage on a temp dir, a real
// AbortController, progress recorded. Stable API used by the train, backtest and ib-fetch tests.
import { rmSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createKtrdrStorage, type KtrdrStorage, type StorageConfig } from '../../storage/index.ts'
import { createFunctionContext, type FunctionContextOptions } from './context.ts'
import type { FunctionContext, FunctionDefinition, ProgressUpdate } from './define.ts'
import { validateInput } from './_input.ts'

export { createFunctionContext, type FunctionContextOptions }

/** Temp dirs still alive; removed at process exit for callers that never call cleanup(). */
const leftovers = new Set<string>()
let exitHook = false
function track(dir: string) {
  leftovers.add(dir)
  if (!exitHook) {
    exitHook = true
    process.once('exit', () => {
      for (const d of leftovers) rmSync(d, { recursive: true, force: true })
    })
  }
}
async function removeTemp(dir: string) {
  leftovers.delete(dir)
  await rm(dir, { recursive: true, force: true })
}

export interface RunInProcessOptions {
  operationId?: string
  attempt?: number
  /** An existing storage, or a config for a new one; default: fresh fs mounts under a temp dir. */
  storage?: KtrdrStorage | StorageConfig
  /** Abort from outside (cancel tests); combined with timeoutMs. */
  signal?: AbortSignal
  timeoutMs?: number
  onProgress?: (update: ProgressUpdate) => void
  host?: FunctionContextOptions['host']
  /** `ctx.logger` (default: consola tagged with the operation id), e.g. one that records lines for a test. */
  logger?: FunctionContextOptions['logger']
}

export interface RunInProcessResult<O> {
  result: O
  progress: ProgressUpdate[]
  storage: KtrdrStorage
  ctx: FunctionContext
  /** Removes the temp storage this helper created (no-op when `storage` was passed in). */
  cleanup(): Promise<void>
}

/**
 * KTRDR storage (every mount) on a fresh temp dir, for tests that seed data or models before
 * running a function. The dir is removed by cleanup(), or at process exit if a test never calls it.
 */
export async function createTempStorage(
  prefix = 'ktrdr-test-',
): Promise<{ storage: KtrdrStorage; root: string; cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), prefix))
  track(root)
  const storage = await createKtrdrStorage({ root })
  return {
    storage,
    root,
    async cleanup() {
      await storage.dispose()
      await removeTemp(root)
    },
  }
}

/**
 * Runs `fn` in this process the way an executor would: input parsed with the function's schema
 * (422 INPUT_INVALID KtrdrError on bad input), a real ctx with its own AbortController (aborted by
 * `signal` or `timeoutMs`) and scratch dir, progress collected in order. Storage is fresh fs
 * mounts under a temp dir unless `storage` is given; `cleanup()` removes what this call created.
 * When the function throws, the temp dir (and storage this call created) is removed before the
 * error propagates.
 */
export async function runFunctionInProcess<I, O>(
  fn: FunctionDefinition<I, O>,
  input: unknown,
  opts: RunInProcessOptions = {},
): Promise<RunInProcessResult<O>> {
  const temp = await mkdtemp(join(tmpdir(), `ktrdr-fn-${fn.name}-`))
  track(temp)
  const ownsStorage = !isStorage(opts.storage)
  const storage = isStorage(opts.storage) ? opts.storage : await createKtrdrStorage({ root: join(temp, 'storage'), ...opts.storage })
  const controller = new AbortController()
  const onAbort = () => controller.abort(opts.signal?.reason)
  if (opts.signal?.aborted) onAbort()
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  const timer = opts.timeoutMs
    ? setTimeout(() => controller.abort(new Error(`Timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs)
    : undefined
  const progress: ProgressUpdate[] = []
  const scratchDir = join(temp, 'scratch')
  await mkdir(scratchDir, { recursive: true })
  const ctx = createFunctionContext({
    operationId: opts.operationId ?? `op_${fn.operation_type ?? fn.name}_test_${Math.random().toString(16).slice(2, 10)}`,
    attempt: opts.attempt,
    signal: controller.signal,
    storage,
    scratchDir,
    host: opts.host,
    logger: opts.logger,
    onProgress(update) {
      progress.push(update)
      opts.onProgress?.(update)
    },
  })
  try {
    const parsed = validateInput(fn, input)
    const result = await fn.run(parsed, ctx)
    const cleanup = async () => {
      if (!ownsStorage) return
      await storage.dispose()
      await removeTemp(temp)
    }
    return { result, progress, storage, ctx, cleanup }
  } catch (error) {
    if (ownsStorage) await storage.dispose()
    await removeTemp(temp)
    throw error
  } finally {
    clearTimeout(timer)
    opts.signal?.removeEventListener('abort', onAbort)
    // The scratch dir lives as long as the invocation, as on a host; with the caller's storage
    // nothing else is in the temp dir.
    if (ownsStorage) await rm(scratchDir, { recursive: true, force: true })
    else await removeTemp(temp)
  }
}

function isStorage(value: unknown): value is KtrdrStorage {
  return typeof value === 'object' && value !== null && 'dispose' in value && 'bundles' in value
}
