import { createApp, defineEventHandler, type App } from 'h3'
import { assertCanonicalPath, createPolicyRouter, hasBearer, requireBearer, type RouteInfo } from '../http/index.ts'
import { KtrdrError } from '../protocol/index.ts'
import { sendGatewayError } from './_http.ts'
import type { ActiveGateway } from './_leader.ts'
import type { ResolvedGatewayOptions } from './_options.ts'

/**
 * What a standby gateway serves: its role on /health, and on every other path a 503 naming the
 * active gateway, so hosts and clients that know both URLs move to the active one.
 */
export function createStandbyApp(
  options: ResolvedGatewayOptions,
  info: { startedAt: Date; active: () => ActiveGateway | null },
): App & { routes: readonly RouteInfo[] } {
  const app = createApp({
    onError: (error, event) => sendGatewayError(error, event),
    onRequest: (event) => assertCanonicalPath(event.path),
  }) as App & { routes: readonly RouteInfo[] }
  const router = createPolicyRouter(
    (event, route) => {
      if (route.auth !== 'public') requireBearer(event, [options.apiToken], 'KTRDR_API_TOKEN')
    },
    { auth: 'api', body: 'json' },
  )
  const tokens = [options.apiToken, options.clusterToken].filter((t): t is string => !!t)
  const health = defineEventHandler((event) => {
    // Public like the active's, but where the active is only for callers with a token.
    const active = tokens.length === 0 || hasBearer(event, tokens) ? info.active() : null
    return {
      healthy: true,
      status: 'standby',
      role: 'standby',
      service: 'ktrdr-gateway',
      timestamp: new Date().toISOString(),
      uptime_seconds: Math.round((Date.now() - info.startedAt.getTime()) / 1000),
      ...(active ? { active: { url: active.url, since: active.since, epoch: active.epoch } } : {}),
    }
  })
  // Public, like the active gateway's /health.
  router.get('/health', { auth: 'public' }, health)
  router.get('/api/v1/health', { auth: 'public' }, health)
  app.use(router.handler)
  // Every other path: either token (a host or a client may ask, and the pointer is not public), then
  // the way to the active one.
  app.use(
    defineEventHandler((event) => {
      requireBearer(event, [options.apiToken, options.clusterToken], 'KTRDR_API_TOKEN')
      const active = info.active()
      throw new KtrdrError({
        code: 'GATEWAY_STANDBY',
        message: active?.url
          ? `This gateway is the standby; the active gateway is ${active.url}`
          : 'This gateway is the standby and no active gateway is known yet: retry in a second',
        details: { role: 'standby', active_url: active?.url ?? null },
      })
    }),
  )
  app.routes = router.routes
  return app
}
