import { Worker } from 'node:worker_threads'
import { KtrdrError, prepareStrategyUpload, validateStrategy, type ParseStrategyOptions } from '../../trading/index.ts'

type Validation = ReturnType<typeof validateStrategy>
type Upload = ReturnType<typeof prepareStrategyUpload>

interface Reply {
  id?: number
  result?: unknown
  error?: string
  code?: string
  details?: Record<string, unknown>
}

/**
 * Strategy validation off the event loop. Validating the largest strategy the limits accept takes
 * 75–110 ms on the 2-core machine (a 1.8 KB example 11–20 ms), long enough to hold every other
 * request; one lazily started worker thread does it instead, in arrival order. An upload's name
 * rewrite parses the text again, so it runs there too, after the limits passed. Where the worker
 * cannot start (a bundled build without its file), validation runs inline and says so once.
 */
export function createStrategyValidator(logger: { warn(message: string): void }) {
  let worker: Worker | null = null
  let failed = false
  let seq = 0
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()

  const start = (): Worker | null => {
    if (worker || failed) return worker
    try {
      const w = new Worker(new URL('_strategy-worker.mjs', import.meta.url))
      w.unref()
      w.on('message', (m: Reply) => {
        if (m.id === undefined) return
        const p = waiting.get(m.id)
        waiting.delete(m.id)
        if (m.error === undefined) p?.resolve(m.result)
        // The one coded error an upload raises there crosses as its code: rebuilt so the route answers 422.
        else if (m.code === 'STRATEGY_NAME_MISMATCH')
          p?.reject(new KtrdrError({ code: 'STRATEGY_NAME_MISMATCH', message: m.error, ...(m.details ? { details: m.details } : {}) }))
        else p?.reject(new Error(m.error))
      })
      w.on('error', (error) => {
        logger.warn(`Strategy validation worker failed (${error.message}); validating inline`)
        for (const p of waiting.values()) p.reject(error)
        waiting.clear()
        worker = null
        failed = true
      })
      worker = w
    } catch (error) {
      logger.warn(`Strategy validation worker could not start (${(error as Error).message}); validating inline`)
      failed = true
    }
    return worker
  }

  const call = <T>(message: Record<string, unknown>, inline: () => T): Promise<T> => {
    const w = start()
    if (!w) return new Promise<T>((resolve) => resolve(inline()))
    const id = ++seq
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject })
      w.postMessage({ id, ...message })
    })
  }

  return {
    /** `name`: the registered name (the file name without extension) the strategy resolves to. */
    validate(source: string, options: ParseStrategyOptions = {}): Promise<Validation> {
      return call({ source, options }, () => validateStrategy(source, options))
    },
    /** Validation and, when valid, the name rewrite of an upload (prepareStrategyUpload). */
    prepareUpload(source: string, options: { name: string; file?: string }): Promise<Upload> {
      return call({ source, options, upload: true }, () => prepareStrategyUpload(source, options))
    },
    async close() {
      await worker?.terminate()
    },
  }
}
