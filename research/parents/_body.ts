import type { z } from 'zod'
import { KtrdrError } from '../../trading/index.ts'

/** A field named in a refusal: `backtest.commission`, `symbols.1`. */
export function badField(field: string, message: string, code: 'BAD_REQUEST' | 'BACKTEST_IN_SAMPLE' = 'BAD_REQUEST'): never {
  throw new KtrdrError({ code, message: `${field}: ${message}`, details: { field } })
}

/** A request body checked with the route's documented schema: 400 naming the first field that is wrong. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) badField('body', 'must be a JSON object')
  const parsed = schema.safeParse(body)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]!
  const path = issue.path.map(String).join('.')
  if (issue.code === 'unrecognized_keys') {
    const field = path ? `${path}.${issue.keys[0]}` : issue.keys[0]!
    const known = knownKeys(schema, issue.path)
    badField(field, `is not a known field${known.length ? ` (known: ${known.join(', ')})` : ''}`)
  }
  badField(path || 'body', issue.message)
}

/** The keys an object schema (possibly nested under `path`) accepts, for the message. */
function knownKeys(schema: z.ZodType, path: PropertyKey[]): string[] {
  let at: unknown = schema
  for (const key of path) at = (at as { shape?: Record<PropertyKey, unknown> }).shape?.[key]
  const inner = (at as { unwrap?: () => unknown })?.unwrap?.() ?? at
  const shape = (inner as { shape?: Record<string, unknown> })?.shape
  return shape ? Object.keys(shape) : []
}
