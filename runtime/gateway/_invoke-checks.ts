import type { ConsolaInstance } from 'consola'
import type { KtrdrStorage } from '../../storage/index.ts'
import { isKtrdrError, type FunctionManifest } from '../protocol/index.ts'

export interface InvokeCheckContext {
  /** The version the invocation resolved to. */
  function: { name: string; version: number; manifest: FunctionManifest }
  /** The gateway's storage mounts, to read (nothing is stored for the invocation yet). */
  storage: KtrdrStorage
  /** Aborted when the caller goes away. */
  signal?: AbortSignal
}

/**
 * A gateway-side check of one function's input, run after the input passed the manifest's JSON
 * Schema and before the operation exists, for what a schema cannot say: a date order, a stored
 * strategy, data present. Refuse with a KtrdrError (its status and message reach the caller, no
 * operation is created); return strings to pass warnings on with the 202.
 */
export type InvokeCheck<I = Record<string, unknown>> = (input: I, ctx: InvokeCheckContext) => void | string[] | Promise<void | string[]>

export interface InvokeCheckDefinition {
  function: string
  check: InvokeCheck
}

/**
 * `defineInvokeCheck('train', async (input, ctx) => …)`: a pack registers it from one of its route
 * modules with `ctx.invokeChecks.add(…)`. The runtime stays ignorant of what the check knows.
 */
export function defineInvokeCheck<I = Record<string, unknown>>(functionName: string, check: InvokeCheck<I>): InvokeCheckDefinition {
  return { function: functionName, check: check as InvokeCheck }
}

/** The checks registered per function name (every version of the function gets them). */
export function createInvokeChecks(logger: ConsolaInstance) {
  const byName = new Map<string, InvokeCheck[]>()
  return {
    add(definition: InvokeCheckDefinition): void {
      const list = byName.get(definition.function) ?? []
      list.push(definition.check)
      byName.set(definition.function, list)
    },
    /** Runs the function's checks in order; their warnings. A KtrdrError refuses the invocation. */
    async run(input: unknown, ctx: InvokeCheckContext): Promise<string[]> {
      const checks = byName.get(ctx.function.name)
      if (!checks) return []
      const warnings: string[] = []
      for (const check of checks) {
        try {
          const said = await check((input ?? {}) as Record<string, unknown>, ctx)
          if (said) warnings.push(...said)
        } catch (error) {
          if (isKtrdrError(error)) throw error
          // A check is an early answer, not the last word: the function validates its input
          // again on the host. A check that breaks (a storage hiccup, a bug) must not block work.
          logger.warn(`Invoke check of ${ctx.function.name} failed, the invocation goes ahead:`, error)
          warnings.push(`The gateway could not check this input for ${ctx.function.name} (${(error as Error).message}); the host will`)
        }
      }
      return warnings
    },
  }
}

export type InvokeChecks = ReturnType<typeof createInvokeChecks>
