import type { KtrdrStorage } from '../../storage/index.ts'
import type { PolicyRouter } from '../http/index.ts'
import type { GatewayDatabase } from './_db.ts'
import type { FunctionRegistry } from './registry/_types.ts'
import type { GatewayServices } from './_services.ts'

/**
 * What every route module gets: the gateway's services (operations, worker registry, dispatcher,
 * health monitor, hooks, resolved options, the shared invoker). Route modules take only what they use.
 */
export interface GatewayRouteContext extends Omit<GatewayServices, 'close'> {
  storage: KtrdrStorage
  database: GatewayDatabase
  functions: FunctionRegistry
}

/** h3's router methods, each with an optional policy before the handler (default: API token, JSON body cap). */
export type GatewayRouter = PolicyRouter

export type GatewayRoutes = (router: GatewayRouter, ctx: GatewayRouteContext) => void

/**
 * A route module: `export default defineGatewayRoutes((router, ctx) => { router.get('/api/v1/…', …) })`.
 * A route that is not for API clients says so with it: `router.post(path, { auth: 'cluster' }, handler)`
 * (hosts), `{ auth: 'public' }` (no token), `{ body: 'upload' }` (bundle-sized body cap).
 */
export function defineGatewayRoutes(setup: GatewayRoutes): GatewayRoutes {
  return setup
}
