import type { ResolvedStorageOptions } from '../../storage/index.ts'
import type { MountName } from '../../storage/index.ts'
import type { OperationErrorInfo } from './worker.ts'
import type { WorkerCapabilities } from './worker.ts'

/** What a function reports while it runs; the host coalesces it into the operation's progress. */
export interface ProgressUpdate {
  percentage: number
  current_step?: string | null
  context?: Record<string, unknown>
}

/** The storage a function declared, normalised: per mount, read or write, under which key prefixes. */
export type StorageScope = Partial<Record<MountName, { access: 'read' | 'write'; prefixes: string[] }>>

/**
 * The storage an invocation gets: mount configs prepared by the host (fs for direct mounts, the
 * host's storage endpoint with a per-invocation capability otherwise, 'none' for undeclared ones)
 * and the declared scope, which the executor enforces too so a refusal is immediate and clear.
 */
export interface ExecutorStorageOptions extends ResolvedStorageOptions {
  scope: StorageScope
  /** Names the function in refusals ("Function echo@3"). */
  who: string
}

/** Messages between a host and one executor child (one invocation at a time per child). */
export interface InvokeMessage {
  type: 'invoke'
  id: string
  operation_id: string
  attempt: number
  input: unknown
  deadline_ms: number
  storage: ExecutorStorageOptions
  scratch_dir: string
  host: { workerId: string; workerType: string; capabilities: WorkerCapabilities }
  log_level?: number
}
export interface CancelMessage {
  type: 'cancel'
  id: string
  reason: string
  /**
   * Why, as the function's `ctx.signal.reason` codes it: FUNCTION_TIMEOUT when the host stops it at
   * its deadline, CANCELLED (also when absent, from hosts before it was sent) otherwise. The host
   * keeps the deadline's timer: the executor has none of its own.
   */
  code?: 'CANCELLED' | 'FUNCTION_TIMEOUT'
}
export type HostToExecutor = InvokeMessage | CancelMessage

export type ExecutorToHost =
  | { type: 'ready'; pid: number; name: string }
  | { type: 'load_error'; error: OperationErrorInfo }
  | { type: 'progress'; id: string; progress: ProgressUpdate }
  /** A line the function wrote through `ctx.logger` (what it writes to stdout/stderr comes over the pipes). */
  | { type: 'log'; id: string; level: string; message: string }
  /** `scratch`: whether the invocation made its scratch directory (absent from bundles built before it said so). */
  | { type: 'result'; id: string; ok: true; result: unknown; aborted: boolean; scratch?: boolean }
  | { type: 'result'; id: string; ok: false; error: OperationErrorInfo; aborted: boolean; scratch?: boolean }
