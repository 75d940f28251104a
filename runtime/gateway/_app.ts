import { createApp, createRouter, getRequestHeader, type App } from 'h3'
import { KtrdrError } from '../protocol/index.ts'
import { requireBearer, sendGatewayError } from './_http.ts'
import type { GatewayRouteContext, GatewayRoutes } from './_routes.ts'
import type { GatewayServices } from './_services.ts'
import functionsRoutes from './routes/functions.ts'
import healthRoutes from './routes/health.ts'
import invokeRoutes from './routes/invoke.ts'
import operationsRoutes from './routes/operations.ts'
import storageRoutes from './routes/storage.ts'
import workersRoutes from './routes/workers.ts'

const PUBLIC = new Set(['/health', '/api/v1/health'])
/** Host → gateway routes: guarded by the cluster token when one is set. */
const HOST_ROUTE = /^\/api\/v1\/(workers\/(register|[^/]+\/(heartbeat|events))$|storage\/)/
/** Bundle uploads may be large; every other body is small JSON. */
const UPLOAD_ROUTE = /^\/api\/v1\/(functions\/[^/]+\/versions$|storage\/)/

/** The runtime's own routes; domain routes (research's API) come in through `options.routes`. */
const RUNTIME_ROUTES: GatewayRoutes[] = [healthRoutes, workersRoutes, operationsRoutes, invokeRoutes, functionsRoutes, storageRoutes]

export interface GatewayAppOptions {
  /** Route modules mounted after the runtime's own (a pack's `defineGatewayRoutes` modules). */
  routes?: GatewayRoutes[]
}

/** The gateway's h3 app: auth, body caps, one error shape, the runtime's routes and the packs' routes. */
export async function createGatewayApp(services: GatewayServices, { routes = [] }: GatewayAppOptions = {}): Promise<App> {
  const { options } = services
  const app = createApp({
    onError: (error, event) => {
      const status = (error as { statusCode?: number }).statusCode ?? 500
      if (status >= 500 && !(error as { cause?: unknown }).cause?.constructor?.name?.includes('KtrdrError')) services.logger.error(error)
      sendGatewayError(error, event)
    },
    onRequest: (event) => {
      const path = event.path.split('?')[0]
      if (PUBLIC.has(path)) return
      if (HOST_ROUTE.test(path) && options.clusterToken) requireBearer(event, [options.clusterToken], 'KTRDR_CLUSTER_TOKEN')
      else requireBearer(event, [options.apiToken], 'KTRDR_API_TOKEN')
      const declared = Number(getRequestHeader(event, 'content-length') ?? 0)
      const limit = UPLOAD_ROUTE.test(path) ? options.maxBundleBytes : options.maxBodyBytes
      if (declared > limit) {
        throw new KtrdrError({ statusCode: 413, code: 'BODY_TOO_LARGE', retryable: false, message: `Request body of ${declared} bytes exceeds the ${limit}-byte limit for ${path}` })
      }
    },
  })
  const router = createRouter()
  const ctx: GatewayRouteContext = services
  // Areas: health/workers/operations/invoke/storage (gateway), functions (bundles, versions, aliases),
  // then whatever the packs add (research: data, strategies, results, models, compat endpoints…).
  for (const setup of [...RUNTIME_ROUTES, ...routes]) setup(router, ctx)
  app.use(router)
  return app
}
