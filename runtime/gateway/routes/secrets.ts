import { defineEventHandler, getRouterParam, type H3Event } from 'h3'
import { isKtrdrError, KtrdrError } from '../../protocol/index.ts'
import { readJsonBody } from '../_http.ts'
import { defineGatewayRoutes } from '../_routes.ts'
import { pageOf, pageParams } from '../_list.ts'
import { MAX_SECRET_BYTES, SECRET_NAME } from '../_secrets.ts'
import { FUNCTION_NAME_RE } from '../../protocol/index.ts'

const FUNCTION_NAME = FUNCTION_NAME_RE

function names(event: H3Event, withSecret: boolean): { fn: string; name: string } {
  const fn = getRouterParam(event, 'name', { decode: true }) ?? ''
  if (!FUNCTION_NAME.test(fn))
    throw new KtrdrError({
      code: 'FUNCTION_NAME_INVALID',
      message: `"${fn}" is not a function name (lowercase letters, digits and dashes)`,
    })
  if (!withSecret) return { fn, name: '' }
  const name = getRouterParam(event, 'secret', { decode: true }) ?? ''
  if (!SECRET_NAME.test(name))
    throw new KtrdrError({
      code: 'SECRET_NAME_INVALID',
      message: `Secret name "${name}" must be an environment variable name (letters, digits, underscore; not starting with a digit)`,
    })
  if (name.toUpperCase().startsWith('KTRDR_'))
    throw new KtrdrError({
      code: 'SECRET_NAME_INVALID',
      message: `Secret name ${name} is reserved: KTRDR_* variables are the hosts' own settings and credentials`,
    })
  return { fn, name }
}

/**
 * Per-function secrets (`ktrdr secret set|list|rm`). API token, like every user route. Answers
 * and errors never carry a value: the list gives names and times only.
 */
export default defineGatewayRoutes((router, ctx) => {
  router.put(
    '/api/v1/functions/:name/secrets/:secret',
    defineEventHandler(async (event) => {
      const { fn, name } = names(event, true)
      let body: { value?: unknown }
      try {
        body = await readJsonBody<{ value?: unknown }>(event, MAX_SECRET_BYTES + 1024)
      } catch (error) {
        // JSON.parse messages quote the text they failed on: that text is the secret.
        if (isKtrdrError(error) && error.code === 'INVALID_JSON')
          throw new KtrdrError({
            code: 'INVALID_JSON',
            message: 'Request body is not valid JSON: send {"value": "<secret>"}',
          })
        throw error
      }
      if (typeof body.value !== 'string')
        throw new KtrdrError({
          code: 'SECRET_VALUE_INVALID',
          message: 'Send the secret as {"value": "<string>"}',
        })
      if (Buffer.byteLength(body.value) > MAX_SECRET_BYTES)
        throw new KtrdrError({
          code: 'SECRET_TOO_LARGE',
          message: `A secret may hold at most ${MAX_SECRET_BYTES} bytes`,
        })
      if (body.value.includes('\0'))
        throw new KtrdrError({
          code: 'SECRET_VALUE_INVALID',
          message: 'A secret becomes an environment variable and cannot contain NUL bytes',
        })
      const info = await ctx.secrets.set(fn, name, body.value)
      ctx.logger.info(`Secret ${name} of function ${fn} set`)
      return { function: fn, ...info }
    }),
  )
  router.get(
    '/api/v1/functions/:name/secrets',
    defineEventHandler((event) => {
      const { fn } = names(event, false)
      return { function: fn, ...pageOf(ctx.secrets.list(fn), pageParams(event, { limit: 1000, maxLimit: 10_000 })) }
    }),
  )
  router.delete(
    '/api/v1/functions/:name/secrets/:secret',
    defineEventHandler(async (event) => {
      const { fn, name } = names(event, true)
      if (!(await ctx.secrets.remove(fn, name)))
        throw new KtrdrError({
          code: 'SECRET_NOT_FOUND',
          message: `Function ${fn} has no secret ${name}`,
        })
      ctx.logger.info(`Secret ${name} of function ${fn} removed`)
      return { function: fn, name, deleted: true }
    }),
  )
})
