import type { FunctionVersion, Operation, OperationLogLine, WorkerRecord } from '../protocol/index.ts'

/** Every state change other parts (SSE, wait_seconds, prefetch, tests, benches) can await. */
export interface GatewayHookMap {
  'operation:created': (op: Operation) => void
  /** Any change of a live operation: placed, started, progress, re-attached. */
  'operation:updated': (op: Operation) => void
  /** Reached completed, failed or cancelled. */
  'operation:finished': (op: Operation) => void
  'operation:requeued': (op: Operation, reason: string) => void
  /** Lines a function wrote, just stored (in order, ids increasing). */
  'operation:log': (operationId: string, lines: OperationLogLine[]) => void
  'worker:registered': (worker: WorkerRecord) => void
  'worker:status': (worker: WorkerRecord, previous: WorkerRecord['status']) => void
  /**
   * The gateway lets go of the host's work: found dead (refused probe, failed polls), deregistered,
   * or replaced at its endpoint. The dispatcher, listening first, re-queues (or fails) what it held.
   */
  'worker:lost': (worker: WorkerRecord, reason: string) => void
  /** A dispatch could not reach the host (refused, reset, timed out): the health monitor probes it now. */
  'worker:unreachable': (worker: WorkerRecord, reason: string) => void
  'worker:removed': (worker: WorkerRecord) => void
  /** A heartbeat is overdue (once per silence); the host is probed at once. */
  'worker:heartbeat-missed': (worker: WorkerRecord) => void
  /** A version was published (also when the same bytes were published again). */
  'function:published': (version: FunctionVersion) => void
  /** The gateway is closing: route packs release what they hold (worker threads, timers). */
  'gateway:close': () => void
}

export type GatewayHookName = keyof GatewayHookMap

/**
 * A small synchronous typed emitter. Synchronous on purpose: emitting sits on the invocation hot
 * path, and listeners (SSE writers, waiters) only schedule I/O. A throwing listener is isolated.
 */
export interface GatewayHooks {
  on<K extends GatewayHookName>(name: K, fn: GatewayHookMap[K]): () => void
  once<K extends GatewayHookName>(name: K, fn: GatewayHookMap[K]): () => void
  emit<K extends GatewayHookName>(name: K, ...args: Parameters<GatewayHookMap[K]>): void
}

export function createGatewayHooks(onListenerError: (error: unknown) => void = () => {}): GatewayHooks {
  const listeners = new Map<GatewayHookName, Set<(...args: any[]) => void>>()
  const hooks: GatewayHooks = {
    on(name, fn) {
      let set = listeners.get(name)
      if (!set) listeners.set(name, (set = new Set()))
      set.add(fn as (...args: any[]) => void)
      return () => {
        set!.delete(fn as (...args: any[]) => void)
      }
    },
    once(name, fn) {
      const off = hooks.on(name, ((...args: any[]) => {
        off()
        ;(fn as (...a: any[]) => void)(...args)
      }) as GatewayHookMap[typeof name])
      return off
    },
    emit(name, ...args) {
      const set = listeners.get(name)
      if (!set || set.size === 0) return
      for (const fn of set) {
        try {
          fn(...args)
        } catch (error) {
          onListenerError(error)
        }
      }
    },
  }
  return hooks
}
