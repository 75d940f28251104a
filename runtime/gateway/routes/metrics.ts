import { defineEventHandler } from 'h3'
import { defineGatewayRoutes } from '../_routes.ts'

/**
 * Prometheus metrics (text format 0.0.4) at the path Prometheus scrapes by default. Behind the API
 * token like the rest of the API, unless KTRDR_METRICS_PUBLIC=1 (docs/operations.md#metrics).
 */
export default defineGatewayRoutes((router, ctx) => {
  router.get(
    '/metrics',
    { auth: ctx.options.metricsPublic ? 'public' : 'api' },
    defineEventHandler(async (event) => {
      event.node.res.setHeader('content-type', ctx.metrics.contentType)
      return ctx.metrics.metrics()
    }),
  )
})
