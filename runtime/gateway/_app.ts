import { createApp, defineEventHandler, getRequestHeader, type App } from 'h3'
import { assertCanonicalPath, assignRequestId, createPolicyRouter, requestIdOf, requireBearer, type RouteInfo } from '../http/index.ts'
import { KtrdrError } from '../protocol/index.ts'
import { applyCors } from './_cors.ts'
import { sendGatewayError } from './_http.ts'
import type { GatewayRoutes, GatewayRouteContext } from './_routes.ts'
import type { GatewayServices } from './_services.ts'
import functionsRoutes from './routes/functions.ts'
import healthRoutes from './routes/health.ts'
import invokeRoutes from './routes/invoke.ts'
import logsRoutes from './routes/logs.ts'
import metricsRoutes from './routes/metrics.ts'
import openapiRoutes from './routes/openapi.ts'
import operationsRoutes from './routes/operations.ts'
import secretsRoutes from './routes/secrets.ts'
import storageRoutes from './routes/storage.ts'
import workersRoutes from './routes/workers.ts'

export interface GatewayApp extends App {
  /** Every route with its method, pattern and declared policy (tests enumerate it). */
  routes: readonly RouteInfo[]
}

/** The runtime's own routes; domain routes (research's API) come in through `options.routes`. */
const RUNTIME_ROUTES: GatewayRoutes[] = [
  healthRoutes,
  metricsRoutes,
  workersRoutes,
  operationsRoutes,
  logsRoutes,
  invokeRoutes,
  functionsRoutes,
  secretsRoutes,
  storageRoutes,
  openapiRoutes,
]

export interface GatewayAppOptions {
  /** Route modules mounted after the runtime's own (a pack's `defineGatewayRoutes` modules). */
  routes?: GatewayRoutes[]
}

/** The gateway's h3 app: path rule, per-route auth and body caps, one error shape, the runtime's routes and the packs' routes. */
export async function createGatewayApp(services: GatewayServices, { routes = [] }: GatewayAppOptions = {}): Promise<GatewayApp> {
  const { options } = services
  const { logger } = services
  // One line per request at debug (LOG_LEVEL=debug): method, path, status, time, request id.
  const accessLog = logger.level >= 4
  const app = createApp({
    onError: (error, event) => {
      const status = (error as { statusCode?: number }).statusCode ?? 500
      if (status >= 500 && !(error as { cause?: unknown }).cause?.constructor?.name?.includes('KtrdrError'))
        logger.error({
          message: `${event.method} ${event.path.split('?')[0]} failed (request ${requestIdOf(event)})`,
          args: [error],
          request_id: requestIdOf(event),
        })
      sendGatewayError(error, event)
    },
    onRequest: (event) => {
      const id = assignRequestId(event)
      if (accessLog) {
        const started = performance.now()
        event.node.res.once('finish', () => {
          const path = event.path.split('?')[0]
          logger.debug({
            message: `${event.method} ${path} ${event.node.res.statusCode} ${(performance.now() - started).toFixed(1)} ms (request ${id})`,
            request_id: id,
            method: event.method,
            path,
            status: event.node.res.statusCode,
          })
        })
      }
      if (options.corsOrigins.length && applyCors(event, options.corsOrigins)) return
      assertCanonicalPath(event.path)
    },
  }) as GatewayApp

  // Cluster routes take only the cluster token when one is set: a client's API token must not
  // register hosts or report results. Without one they fall back to the API token.
  const router = createPolicyRouter(
    (event, route) => {
      if (route.auth === 'cluster' && options.clusterToken) requireBearer(event, [options.clusterToken], 'KTRDR_CLUSTER_TOKEN')
      else if (route.auth !== 'public') requireBearer(event, [options.apiToken], 'KTRDR_API_TOKEN')
      const declared = Number(getRequestHeader(event, 'content-length') ?? 0)
      const limit = route.body === 'upload' ? options.maxBundleBytes : options.maxBodyBytes
      if (declared > limit) {
        throw new KtrdrError({
          code: 'BODY_TOO_LARGE',
          message: `Request body of ${declared} bytes exceeds the ${limit}-byte limit for ${route.method.toUpperCase()} ${route.path}`,
        })
      }
    },
    { auth: 'api', body: 'json' },
  )
  const ctx: GatewayRouteContext = services
  // Areas: health/workers/operations/invoke/storage (gateway), functions (bundles, versions, aliases, secrets),
  // then whatever the packs add (research: data, strategies, results, models, compat endpoints…).
  for (const setup of [...RUNTIME_ROUTES, ...routes]) setup(router, ctx)
  app.use(router.handler)
  // Nothing matched (or the method is not served there). A token comes first, so that a caller
  // without one learns nothing about which routes exist: 401 for every path alike.
  app.use(
    defineEventHandler((event) => {
      if (options.apiToken) requireBearer(event, [options.apiToken, options.clusterToken], 'KTRDR_API_TOKEN')
      const allow = router.allowedMethods(event.path)
      // Only when this method is not among them: a spelling the router did not match is a 404, not a 405.
      if (allow.length && !allow.includes(event.method)) {
        event.node.res.setHeader('allow', allow.join(', '))
        throw new KtrdrError({
          code: 'METHOD_NOT_ALLOWED',
          message: `${event.method} is not served at ${event.path.split('?')[0]}: use ${allow.join(', ')}`,
        })
      }
      throw new KtrdrError({
        code: 'ROUTE_NOT_FOUND',
        message: `No route for ${event.method} ${event.path.split('?')[0]}: see docs/architecture.md for the API`,
      })
    }),
  )
  app.routes = router.routes
  return app
}
