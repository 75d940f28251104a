import type { ConsolaInstance } from 'consola'
import type { z } from 'zod'
import type { KtrdrStorage } from '../../storage/index.ts'
import type { FunctionPlacement } from '../protocol/index.ts'
import type { OperationProgress, ProgressUpdate, WorkerCapabilities } from '../protocol/index.ts'

/** What a running function gets besides its input. */
export interface FunctionContext {
  operationId: string
  attempt: number
  /** Aborted on cancel, on timeout and when the host shuts down. Check it in every loop. */
  signal: AbortSignal
  /** Cheap to call often: the host coalesces updates before pushing them to the gateway. */
  progress(update: ProgressUpdate): void
  logger: ConsolaInstance
  /** The storage mounts: data, models, bundles, results, strategies, checkpoints. */
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
  run(input: I, ctx: FunctionContext): Promise<O>
}

/** Authoring entry point for a function bundle: `export default defineFunction({...})`. */
export function defineFunction<I, O>(definition: FunctionDefinition<I, O>): FunctionDefinition<I, O> {
  if (!/^[a-z][a-z0-9-]*$/.test(definition.name)) {
    throw new Error(`Function name "${definition.name}" must be lowercase letters, digits and dashes`)
  }
  return definition
}

export type { OperationProgress, ProgressUpdate }
