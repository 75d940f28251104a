import { defineEventHandler, getRouterParam, setResponseStatus } from 'h3'
import { readJsonBody } from '../_http.ts'
import { checkInvokeRequest } from '../_invoke.ts'
import { defineGatewayRoutes } from '../_routes.ts'

/** POST /api/v1/functions/:name/invoke — name, name@<version> or name@<alias>. */
export default defineGatewayRoutes((router, ctx) => {
  router.post(
    '/api/v1/functions/:name/invoke',
    defineEventHandler(async (event) => {
      const name = getRouterParam(event, 'name', { decode: true })!
      const body = checkInvokeRequest(await readJsonBody(event, ctx.options.maxBodyBytes), ctx.options.queue.maxWaitSeconds)
      const abort = new AbortController()
      event.node.res.once('close', () => abort.abort())
      const result = await ctx.invoke(name, body, abort.signal)
      setResponseStatus(event, result.statusCode)
      return result.warnings.length ? { ...result.operation, warnings: result.warnings } : result.operation
    }),
  )
})
