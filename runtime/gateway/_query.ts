import { getQuery, type H3Event } from 'h3'
import { z } from 'zod'
import { KtrdrError } from '../protocol/index.ts'

/** `limit`/`offset` of a paged list as a zod shape (query strings coerced), with messages naming the parameter. */
export function pageQueryShape({ limit = 100, maxLimit = 1000 }: { limit?: number; maxLimit?: number } = {}) {
  const between = (name: string, min: number, max: number) => ({ error: `${name} must be an integer between ${min} and ${max}` })
  return {
    limit: z.coerce
      .number(between('limit', 1, maxLimit))
      .int(between('limit', 1, maxLimit))
      .min(1, between('limit', 1, maxLimit))
      .max(maxLimit, between('limit', 1, maxLimit))
      .default(limit)
      .describe(`Page size (default ${limit})`),
    offset: z.coerce
      .number(between('offset', 0, Number.MAX_SAFE_INTEGER))
      .int(between('offset', 0, Number.MAX_SAFE_INTEGER))
      .min(0, between('offset', 0, Number.MAX_SAFE_INTEGER))
      .default(0)
      .describe('Items to skip (default 0)'),
  }
}

/** The query string checked with the route's documented schema: 400 naming the parameter. */
export function readQuery<T extends z.ZodType>(event: H3Event, schema: T): z.output<T> {
  const raw = Object.fromEntries(Object.entries(getQuery(event)).filter(([, v]) => v !== ''))
  const parsed = schema.safeParse(raw)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]!
  const field = issue.code === 'unrecognized_keys' ? issue.keys[0]! : String(issue.path[0] ?? '(query)')
  throw new KtrdrError({
    code: 'BAD_REQUEST',
    message: issue.message.startsWith(field) ? issue.message : `${field}: ${issue.message}`,
    details: { field },
  })
}
