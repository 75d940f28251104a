import { z } from 'zod'

const PARENT_ERROR = { error: 'must be an operation id (letters, digits, "_", "-", ".", ":"; at most 200)' }
const INT_BETWEEN = (min: number, max: number, what: string) => ({ error: `must be an integer between ${min} and ${max}${what}` })

/**
 * The envelope of POST /api/v1/functions/:name/invoke (the input itself is checked against the
 * function's own schema). The invoke route validates with it and the OpenAPI document is
 * generated from it; cached per `maxWaitSeconds`, it is built once per gateway.
 */
const cache = new Map<number, z.ZodType>()
export function invokeRequestSchema(maxWaitSeconds: number) {
  let schema = cache.get(maxWaitSeconds)
  if (!schema) {
    const waitError = { error: `must be a number between 0 and ${maxWaitSeconds}` }
    const bool = { error: 'must be true or false' }
    schema = z
      .object({
        input: z.unknown().optional().describe("The function's input, checked against its input schema"),
        version: z
          .union([z.string(), z.number().int()], { error: 'must be a version number or an alias name' })
          .optional()
          .describe('Version number or alias (the path may say name@version instead)'),
        idempotency_key: z
          .string({ error: 'must be a string of 1–200 characters' })
          .min(1, { error: 'must be a string of 1–200 characters' })
          .max(200, { error: 'must be a string of 1–200 characters' })
          .optional()
          .describe('The same key returns the same operation instead of a new one'),
        wait_seconds: z
          .number(waitError)
          .min(0, waitError)
          .max(maxWaitSeconds, waitError)
          .optional()
          .describe('Wait up to this long for the result: 200 with the finished operation, else 202'),
        prefer_gpu: z.boolean(bool).optional(),
        require_gpu: z.boolean(bool).optional().describe('Only a GPU host may run it (it waits for one)'),
        priority: z
          .number(INT_BETWEEN(-1000, 1000, ' (higher runs first)'))
          .int(INT_BETWEEN(-1000, 1000, ' (higher runs first)'))
          .min(-1000, INT_BETWEEN(-1000, 1000, ' (higher runs first)'))
          .max(1000, INT_BETWEEN(-1000, 1000, ' (higher runs first)'))
          .optional(),
        queue: z.boolean(bool).optional().describe('false: 503 instead of queueing when no capable host has a free slot now'),
        max_attempts: z
          .number(INT_BETWEEN(1, 20, ''))
          .int(INT_BETWEEN(1, 20, ''))
          .min(1, INT_BETWEEN(1, 20, ''))
          .max(20, INT_BETWEEN(1, 20, ''))
          .optional()
          .describe('Attempts when hosts die under it (default: the function’s max_attempts)'),
        metadata: z.record(z.string(), z.unknown(), { error: 'must be an object' }).optional(),
        parent_operation_id: z
          .string(PARENT_ERROR)
          .regex(/^[A-Za-z0-9_.:-]{1,200}$/, PARENT_ERROR)
          .optional()
          .describe('The operation this one is a step of: listed by GET /api/v1/operations/{id}/children, cancelled with it'),
      })
      .strict()
    cache.set(maxWaitSeconds, schema)
  }
  return schema
}
