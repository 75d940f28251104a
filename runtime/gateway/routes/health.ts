import { defineEventHandler } from 'h3'
import { defineGatewayRoutes } from '../_routes.ts'

/** Liveness for load balancers and the guide's checks; never behind a token. */
export default defineGatewayRoutes((router, ctx) => {
  const handler = defineEventHandler(() => ({
    healthy: true,
    status: 'ok',
    // The standby of a PostgreSQL pair answers 'standby' (see _standby.ts).
    role: 'active',
    service: 'ktrdr-gateway',
    timestamp: new Date().toISOString(),
    uptime_seconds: Math.round((Date.now() - ctx.startedAt.getTime()) / 1000),
    workers: ctx.workers.summary(),
    queue: { pending: ctx.operations.queue.size, live: ctx.operations.live.size },
  }))
  router.get('/health', { auth: 'public' }, handler)
  router.get('/api/v1/health', { auth: 'public' }, handler)
})
