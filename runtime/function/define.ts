import type { ConsolaInstance } from 'consola'
import type { z } from 'zod'
import type { KtrdrStorage } from '../../storage/index.ts'
import type { FunctionPlacement } from '../protocol/index.ts'
import type { OperationProgress, ProgressUpdate, WorkerCapabilities } from '../protocol/index.ts'
import { checkConcurrency, checkDeclaredEnv, normalizeStorageAccess, type StorageAccess } from './_access.ts'
import { FUNCTION_NAME_RE } from '../protocol/index.ts'

/** What a running function gets besides its input. */
export interface FunctionContext {
  operationId: string
  attempt: number
  /** Aborted on cancel, on timeout and when the host shuts down. Check it in every loop. */
  signal: AbortSignal
  /** Cheap to call often: the host coalesces updates before pushing them to the gateway. */
  progress(update: ProgressUpdate): void
  logger: ConsolaInstance
  /** The storage mounts the function declared (`storage` in defineFunction); any other use is refused. */
  storage: KtrdrStorage
  /** Per-invocation scratch directory, removed after the invocation. */
  scratchDir: string
  host: { workerId: string; workerType: string; capabilities: WorkerCapabilities }
}

export interface FunctionDefinition<I = unknown, O = unknown> {
  name: string
  description: string
  /** Operation type used in operation ids (`op_<type>_…`); defaults to the name. */
  operation_type?: string
  /** zod schema of the input; its JSON Schema goes into the manifest for the gateway to validate. */
  input: z.ZodType<I>
  placement?: FunctionPlacement
  timeout_seconds?: number
  max_attempts?: number
  /**
   * Invocations one executor process may run at once (default 1: each invocation gets a process
   * of its own). Above 1 the host hands a warm executor of this version further invocations while
   * it runs others, the way a BullMQ worker's `concurrency` or a Cloud Run instance's does: for
   * short or I/O-bound functions (one process stays warm instead of one per slot; a model loaded at
   * module level is loaded once). What shares a process shares its fate: an invocation that crashes
   * the process, runs it out of memory or ignores its AbortSignal past the cancel grace fails the
   * others in it too, and what the function prints to stdout/stderr goes to the host's log only,
   * not an operation's (ctx.logger lines still do). See docs/architecture.md *Shared executors*.
   */
  concurrency?: number
  /**
   * Storage mounts the function uses and how: `{ data: 'read', models: 'write' }`, optionally
   * limited to key prefixes (`{ results: { access: 'write', prefixes: ['backtests'] } }`).
   * Undeclared mounts, writes to read mounts and keys outside the prefixes fail with STORAGE_SCOPE_DENIED.
   */
  storage?: StorageAccess
  /**
   * Variables the host passes through from its own environment (e.g. `['IB_HOST', 'IB_PORT']`).
   * KTRDR_* names are refused: those are the host's settings and secrets. Per-function secrets are
   * set with `ktrdr secret set` and arrive as environment variables as well.
   */
  env?: string[]
  run(input: I, ctx: FunctionContext): Promise<O>
}

/** Authoring entry point for a function bundle: `export default defineFunction({...})`. */
export function defineFunction<I, O>(definition: FunctionDefinition<I, O>): FunctionDefinition<I, O> {
  if (!FUNCTION_NAME_RE.test(definition.name)) {
    throw new Error(`Function name "${definition.name}" must be lowercase letters, digits and dashes`)
  }
  checkDeclaredEnv(definition.env, `Function ${definition.name}`)
  checkConcurrency(definition.concurrency, `Function ${definition.name}`)
  normalizeStorageAccess(definition.storage, `Function ${definition.name}`)
  return definition
}

export type { OperationProgress, ProgressUpdate }
export type { MountAccess, StorageAccess } from './_access.ts'
