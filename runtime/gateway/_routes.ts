import type { Router } from 'h3'
import type { KtrdrStorage } from '../../storage/index.ts'
import type { GatewayDatabase } from './_db.ts'
import type { FunctionRegistry } from './functions/_types.ts'

/**
 * What every route module gets. The gateway owner adds fields (operations, registry, scheduler,
 * options, hooks) as they come; route modules take only what they use.
 */
export interface GatewayRouteContext {
  storage: KtrdrStorage
  database: GatewayDatabase
  functions: FunctionRegistry
  [key: string]: unknown
}

export type GatewayRoutes = (router: Router, ctx: GatewayRouteContext) => void

/** A route module: `export default defineGatewayRoutes((router, ctx) => { router.get('/api/v1/…', …) })`. */
export function defineGatewayRoutes(setup: GatewayRoutes): GatewayRoutes {
  return setup
}
