import { z } from 'zod'
import { pageQueryShape } from '../../runtime/gateway/index.ts'
import { KtrdrError } from '../../trading/index.ts'

/** Query of a list of parents or loops: `status` (comma-separated) and a page. */
export const statusListQuery = (statuses: readonly string[]) =>
  z.object({
    status: z
      .string()
      .optional()
      .describe(`One of ${statuses.join(', ')}; comma-separated for several`),
    ...pageQueryShape({ limit: 50, maxLimit: 1000 }),
  })

/** `status=running,failed` as the statuses it names (case-insensitive), or a 400 naming the allowed ones. */
export function statusFilter<T extends string>(raw: string | undefined, statuses: readonly T[]): T[] | undefined {
  if (!raw) return undefined
  const wanted = raw.toLowerCase().split(',') as T[]
  for (const s of wanted)
    if (!statuses.includes(s))
      throw new KtrdrError({
        code: 'BAD_REQUEST',
        message: `status must be one of ${statuses.join(', ')}`,
        details: { field: 'status' },
      })
  return wanted
}
