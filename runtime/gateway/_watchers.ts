import type { Operation } from '../protocol/index.ts'
import type { GatewayHooks } from './_hooks.ts'
import type { StoredOperation } from './_store.ts'

export type OperationChange = 'updated' | 'requeued' | 'finished'

/**
 * Per-operation listeners (SSE streams, wait_seconds callers, placement waits): one map lookup per
 * state change instead of every waiter filtering every operation's events.
 */
export function createOperationWatchers(
  hooks: GatewayHooks,
  getLive: (id: string) => StoredOperation | null,
  fetch: (id: string) => Promise<StoredOperation | null>,
) {
  const watchers = new Map<string, Set<(kind: OperationChange, op: Operation) => void>>()
  const notify = (kind: OperationChange, op: Operation) => {
    const set = watchers.get(op.operation_id)
    if (set) for (const fn of set) fn(kind, op)
  }
  hooks.on('operation:updated', (op) => notify('updated', op))
  hooks.on('operation:requeued', (op) => notify('requeued', op))
  hooks.on('operation:finished', (op) => notify('finished', op))

  function watch(id: string, fn: (kind: OperationChange, op: Operation) => void): () => void {
    let set = watchers.get(id)
    if (!set) watchers.set(id, (set = new Set()))
    set.add(fn)
    return () => {
      set!.delete(fn)
      if (set!.size === 0 && watchers.get(id) === set) watchers.delete(id)
    }
  }

  /** Resolves once `done(op)` holds (checked now and on every change), or with the current state after `ms`. */
  async function waitFor(id: string, ms: number, done: (op: Operation) => boolean, signal?: AbortSignal): Promise<Operation> {
    // Not live: finished (or unknown), nothing more will happen to it.
    const s = getLive(id)
    if (!s) return (await fetch(id))?.op as Operation
    if (done(s.op) || ms <= 0 || signal?.aborted) return s.op
    return new Promise((resolve) => {
      let last = s.op
      const finish = () => {
        clearTimeout(timer)
        off()
        signal?.removeEventListener('abort', finish)
        resolve(getLive(id)?.op ?? last)
      }
      const off = watch(id, (_kind, op) => {
        last = op
        if (done(op)) finish()
      })
      const timer = setTimeout(finish, ms)
      signal?.addEventListener('abort', finish, { once: true })
    })
  }

  return { watch, waitFor }
}
