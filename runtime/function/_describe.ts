import { z } from 'zod'
import type { FunctionManifest } from '../protocol/index.ts'
import type { FunctionDefinition } from './define.ts'
import { checkConcurrency, checkDeclaredEnv, normalizeStorageAccess } from './_access.ts'

export type FunctionDescription = Pick<
  FunctionManifest,
  | 'name'
  | 'description'
  | 'operation_type'
  | 'input_schema'
  | 'placement'
  | 'timeout_seconds'
  | 'max_attempts'
  | 'concurrency'
  | 'storage'
  | 'env'
>

export const DEFAULT_TIMEOUT_SECONDS = 3600
export const DEFAULT_MAX_ATTEMPTS = 3

/** The manifest fields that come from the definition (defaults applied here, nowhere else). */
export function describeFunction(fn: FunctionDefinition): FunctionDescription {
  return {
    name: fn.name,
    description: fn.description,
    operation_type: fn.operation_type ?? fn.name,
    // io:'input' describes what callers send (defaults optional); unrepresentable parts become {}.
    input_schema: z.toJSONSchema(fn.input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
    placement: fn.placement ?? {},
    timeout_seconds: fn.timeout_seconds ?? DEFAULT_TIMEOUT_SECONDS,
    max_attempts: fn.max_attempts ?? DEFAULT_MAX_ATTEMPTS,
    // Only when declared: the manifests (and content hashes) of functions that run alone stay as they were.
    ...(checkConcurrency(fn.concurrency, `Function ${fn.name}`) > 1 ? { concurrency: fn.concurrency } : {}),
    storage: normalizeStorageAccess(fn.storage, `Function ${fn.name}`),
    env: checkDeclaredEnv(fn.env, `Function ${fn.name}`),
  }
}
