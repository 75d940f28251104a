import { Worker } from 'node:worker_threads'
import { validateStrategy, type ParseStrategyOptions } from '../../trading/index.ts'

type Validation = ReturnType<typeof validateStrategy>

/**
 * Strategy validation off the event loop. Validating the largest strategy the limits accept takes
 * 75–110 ms on the 2-core machine (a 1.8 KB example 11–20 ms), long enough to hold every other
 * request; one lazily started worker thread does it instead, in arrival order. Where the worker
 * cannot start (a bundled build without its file), validation runs inline and says so once.
 */
export function createStrategyValidator(logger: { warn(message: string): void }) {
  let worker: Worker | null = null
  let failed = false
  let seq = 0
  const waiting = new Map<number, { resolve(v: Validation): void; reject(e: Error): void }>()

  const start = (): Worker | null => {
    if (worker || failed) return worker
    try {
      const w = new Worker(new URL('_strategy-worker.mjs', import.meta.url))
      w.unref()
      w.on('message', (m: { id?: number; result?: Validation; error?: string }) => {
        if (m.id === undefined) return
        const p = waiting.get(m.id)
        waiting.delete(m.id)
        if (m.error !== undefined) p?.reject(new Error(m.error))
        else p?.resolve(m.result!)
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

  return {
    /** `name`: the registered name (the file name without extension) the strategy resolves to. */
    validate(source: string, options: ParseStrategyOptions = {}): Promise<Validation> {
      const w = start()
      if (!w) return Promise.resolve(validateStrategy(source, options))
      const id = ++seq
      return new Promise<Validation>((resolve, reject) => {
        waiting.set(id, { resolve, reject })
        w.postMessage({ id, source, options })
      })
    },
    async close() {
      await worker?.terminate()
    },
  }
}
