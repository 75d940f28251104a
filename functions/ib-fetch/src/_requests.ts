import type { IbBars } from './ib-client.ts'
import { IbRequestError } from './errors.ts'

export interface PendingRequest {
  kind: 'hist' | 'head'
  /** Bars received so far (historical data arrives one bar per message). */
  bars?: IbBars
  resolve(value: unknown): void
  reject(error: Error): void
}

export function emptyBars(): IbBars {
  return { time: [], open: [], high: [], low: [], close: [], volume: [] }
}

/**
 * IB answers every request by its id on one socket. The table correlates answers with callers
 * and gives each request a real-time timeout and an AbortSignal; both also cancel it at IB.
 */
export function createRequestTable(timeoutMs: number) {
  const pending = new Map<number, PendingRequest>()
  let nextReqId = 1
  return {
    get: (reqId: number): PendingRequest | undefined => pending.get(reqId),
    /** Removes the request and returns it; undefined when it was answered, timed out or aborted already. */
    take(reqId: number): PendingRequest | undefined {
      const p = pending.get(reqId)
      if (p) pending.delete(reqId)
      return p
    },
    failAll(error: Error) {
      for (const [id, p] of pending) {
        pending.delete(id)
        p.reject(error)
      }
    },
    start<T>(
      kind: PendingRequest['kind'],
      send: (reqId: number) => void,
      cancel: (reqId: number) => void,
      signal?: AbortSignal,
    ): Promise<T> {
      signal?.throwIfAborted()
      const reqId = nextReqId++
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          if (!pending.delete(reqId)) return
          cancel(reqId)
          reject(new IbRequestError('transient', 0, `No answer from IB within ${timeoutMs} ms`))
        }, timeoutMs)
        timer.unref?.()
        const onAbort = () => {
          if (!pending.delete(reqId)) return
          cancel(reqId)
          reject(signal!.reason)
        }
        signal?.addEventListener('abort', onAbort, { once: true })
        const done = () => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
        }
        pending.set(reqId, {
          kind,
          bars: kind === 'hist' ? emptyBars() : undefined,
          resolve: (v) => {
            done()
            resolve(v as T)
          },
          reject: (e) => {
            done()
            reject(e)
          },
        })
        send(reqId)
      })
    },
  }
}
