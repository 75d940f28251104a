import { defineEventHandler } from 'h3'
import { defineGatewayRoutes } from '../_routes.ts'

/** Liveness for load balancers and the guide's checks; never behind a token. */
export default defineGatewayRoutes((router, ctx) => {
  const handler = defineEventHandler(() => {
    const counts = ctx.operations.counts()
    return {
      healthy: true,
      status: 'ok',
      // The standby of a PostgreSQL pair answers 'standby' (see _standby.ts).
      role: 'active',
      service: 'ktrdr-gateway',
      timestamp: new Date().toISOString(),
      uptime_seconds: Math.round((Date.now() - ctx.startedAt.getTime()) / 1000),
      workers: ctx.workers.summary(),
      // pending: waiting in the queue (not those being dispatched); live: queued, dispatching or running.
      queue: { pending: counts.queued, live: counts.live },
    }
  })
  router.get('/health', { auth: 'public' }, handler)
  router.get('/api/v1/health', { auth: 'public' }, handler)
})
