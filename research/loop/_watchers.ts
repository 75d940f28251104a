import type { LoopRecord } from './_types.ts'

/**
 * Per-loop listeners, told each time a loop is saved: a caller waiting for a loop's end
 * (GET /api/v1/research/:id?wait_seconds=) is answered when it ends instead of polling the route.
 */
export function createLoopWatchers() {
  const watchers = new Map<string, Set<(loop: LoopRecord) => void>>()
  const waiting = new Set<() => void>()

  function watch(id: string, fn: (loop: LoopRecord) => void): () => void {
    let set = watchers.get(id)
    if (!set) watchers.set(id, (set = new Set()))
    set.add(fn)
    return () => {
      set!.delete(fn)
      if (set!.size === 0 && watchers.get(id) === set) watchers.delete(id)
    }
  }

  return {
    notify(loop: LoopRecord) {
      const set = watchers.get(loop.operation_id)
      if (set) for (const fn of set) fn(loop)
    },
    /** Resolves with the loop once `done(loop)` holds (checked now and at each save), or as it is after `ms` or an abort. */
    waitFor(loop: LoopRecord, ms: number, done: (loop: LoopRecord) => boolean, signal?: AbortSignal): Promise<LoopRecord> {
      if (done(loop) || ms <= 0 || signal?.aborted) return Promise.resolve(loop)
      return new Promise((resolve) => {
        let last = loop
        const finish = () => {
          waiting.delete(finish)
          clearTimeout(timer)
          off()
          signal?.removeEventListener('abort', finish)
          resolve(last)
        }
        const off = watch(loop.operation_id, (l) => {
          last = l
          if (done(l)) finish()
        })
        const timer = setTimeout(finish, ms)
        waiting.add(finish)
        signal?.addEventListener('abort', finish, { once: true })
      })
    },
    /** Answers every waiter with the loop as it last saw it (the gateway is closing). */
    close() {
      // Each finish removes itself: deleting the entry being visited does not disturb a Set's iteration.
      for (const finish of waiting) finish()
    },
  }
}
