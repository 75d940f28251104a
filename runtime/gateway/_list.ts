import { getQuery, type H3Event } from 'h3'
import { KtrdrError } from '../protocol/index.ts'

/** The one list envelope of our own routes (docs/architecture.md#lists-and-errors). */
export interface ListPage<T> {
  data: T[]
  total_count: number
  limit: number
  offset: number
}

export interface PageParams {
  limit: number
  offset: number
}

/** An integer query parameter within [min, max]; absent or empty → fallback; anything else → 400 naming it. */
export function intParam(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new KtrdrError({
      code: 'BAD_REQUEST',
      message: `${name} must be an integer between ${min} and ${max}`,
      details: { field: name },
    })
  }
  return n
}

/** `?limit=&offset=` of a list route, checked (400 naming the parameter). */
export function pageParams(event: H3Event, { limit = 100, maxLimit = 1000 }: { limit?: number; maxLimit?: number } = {}): PageParams {
  const q = getQuery(event)
  return {
    limit: intParam(q.limit, 'limit', limit, 1, maxLimit),
    offset: intParam(q.offset, 'offset', 0, 0, Number.MAX_SAFE_INTEGER),
  }
}

/** One page of `items` (already cut) with the total before paging. */
export function listPage<T>(data: T[], total: number, { limit, offset }: PageParams): ListPage<T> {
  return { data, total_count: total, limit, offset }
}

/** Pages a list held in memory. */
export function pageOf<T>(all: T[], page: PageParams): ListPage<T> {
  return listPage(all.slice(page.offset, page.offset + page.limit), all.length, page)
}
