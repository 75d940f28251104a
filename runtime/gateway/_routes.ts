import type { Router } from 'h3'
import type { KtrdrStorage } from '../../storage/index.ts'
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

export type GatewayRoutes = (router: Router, ctx: GatewayRouteContext) => void

/** A route module: `export default defineGatewayRoutes((router, ctx) => { router.get('/api/v1/…', …) })`. */
export function defineGatewayRoutes(setup: GatewayRoutes): GatewayRoutes {
  return setup
}
