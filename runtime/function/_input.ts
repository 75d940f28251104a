import { z } from 'zod'
import { didYouMean, KtrdrError } from '../protocol/index.ts'
import type { FunctionDefinition } from './define.ts'

/** Parses an invocation's input with the function's zod schema; 422 INPUT_INVALID names each bad field. */
export function validateInput<I>(fn: FunctionDefinition<I>, input: unknown): I {
  const parsed = fn.input.safeParse(input ?? {})
  if (parsed.success) return parsed.data
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${describeIssue(fn, i)}`).join('; ')
  throw new KtrdrError({
    code: 'INPUT_INVALID',
    message: `Invalid input for function "${fn.name}": ${issues}`,
    details: parsed.error.issues,
  })
}

/** zod's message, and for an unknown key the known key it most likely meant (same hint as the gateway's). */
function describeIssue(fn: FunctionDefinition<unknown>, issue: z.core.$ZodIssue): string {
  if (issue.code !== 'unrecognized_keys') return issue.message
  const known = knownKeysAt(fn, issue.path)
  return issue.keys
    .map((key) => {
      const hint = didYouMean(key, known)
      return `unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}`
    })
    .join(', ')
}

/** The property names the schema accepts at `path` (read from its JSON Schema: zod unwraps for us). Only on the error path. */
function knownKeysAt(fn: FunctionDefinition<unknown>, path: readonly PropertyKey[]): string[] {
  let node = z.toJSONSchema(fn.input, { io: 'input', unrepresentable: 'any' }) as Record<string, any>
  for (const segment of path) {
    node = (typeof segment === 'number' ? node?.items : node?.properties?.[String(segment)]) as Record<string, any>
    if (!node) return []
  }
  return Object.keys(node?.properties ?? {})
}
