import { KtrdrError } from '../protocol/index.ts'
import type { FunctionDefinition } from './define.ts'

/** Parses an invocation's input with the function's zod schema; 422 INPUT_INVALID names each bad field. */
export function validateInput<I>(fn: FunctionDefinition<I>, input: unknown): I {
  const parsed = fn.input.safeParse(input ?? {})
  if (parsed.success) return parsed.data
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')
  throw new KtrdrError({
    code: 'INPUT_INVALID',
    message: `Invalid input for function "${fn.name}": ${issues}`,
    details: parsed.error.issues,
  })
}
