import { mkdirSync } from 'node:fs'
import { consola, type ConsolaInstance } from 'consola'
import type { KtrdrStorage } from '../../storage/index.ts'
import type { WorkerCapabilities } from '../protocol/index.ts'
import type { FunctionContext, ProgressUpdate } from './define.ts'

export interface FunctionContextOptions {
  operationId: string
  attempt?: number
  /** `ctx.signal`, or a factory called on its first read (the executor's: most invocations never read it). */
  signal: AbortSignal | (() => AbortSignal)
  storage: KtrdrStorage
  scratchDir: string
  onProgress?: (update: ProgressUpdate) => void
  /** `ctx.logger`, or a factory called on its first use (most invocations never log). */
  logger?: ConsolaInstance | (() => ConsolaInstance)
  host?: Partial<FunctionContext['host']>
  /** Called when the function first reads `ctx.scratchDir` (and the directory is made). */
  onScratch?: () => void
}

const LOCAL_CAPABILITIES: WorkerCapabilities = { cores: 1, memory_gb: 1, gpu: false, ib: false, llm: false, slots: 1 }

/** Builds the `ctx` a function's run() receives; shared by the bundle executor and runFunctionInProcess. */
export function createFunctionContext(options: FunctionContextOptions): FunctionContext {
  let scratchMade = false
  let logger: ConsolaInstance | undefined
  let signal: AbortSignal | undefined
  const clamp = (n: number) => (Number.isFinite(n) ? Math.min(100, Math.max(0, n)) : 0)
  return {
    operationId: options.operationId,
    attempt: options.attempt ?? 1,
    get signal() {
      if (!signal) signal = typeof options.signal === 'function' ? options.signal() : options.signal
      return signal
    },
    progress(update) {
      options.onProgress?.({
        percentage: clamp(update.percentage),
        current_step: update.current_step ?? null,
        context: update.context ?? {},
      })
    },
    // Created on first use: a consola instance was built for every invocation, and most never log
    // (its construction showed in executor profiles under bench/peers.bench.ts at c=16).
    get logger() {
      if (!logger) {
        const given = options.logger
        logger = typeof given === 'function' ? given() : (given ?? consola.withTag(options.operationId))
      }
      return logger
    },
    storage: options.storage,
    // Created on first use: most functions never touch it, and an eager mkdir per invocation
    // cost ~1 ms of the no-op path under load (CPU profile of bench/gateway.bench.ts).
    get scratchDir() {
      if (!scratchMade) {
        mkdirSync(options.scratchDir, { recursive: true })
        scratchMade = true
        options.onScratch?.()
      }
      return options.scratchDir
    },
    host: {
      workerId: options.host?.workerId ?? 'local',
      workerType: options.host?.workerType ?? 'general',
      capabilities: options.host?.capabilities ?? LOCAL_CAPABILITIES,
    },
  }
}
