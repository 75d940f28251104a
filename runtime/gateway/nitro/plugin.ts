import { defineNitroPlugin } from 'nitropack/runtime'
import { createGatewayApp } from '../_app.ts'
import type { GatewayRoutes } from '../_routes.ts'
import { resolveGatewayOptions } from '../_options.ts'
import { createGatewayServices } from '../_services.ts'
import { gatewayState } from './_state.ts'

export interface GatewayNitroPluginOptions {
  /** Loads the route modules served beside the runtime's own (the packs' routes; see server/plugin.ts). */
  routes?: () => Promise<GatewayRoutes[]>
}

/**
 * Nitro deployment of the gateway: the same services and h3 app as `ktrdr gateway`, built once at
 * start-up from the environment (KTRDR_* variables). Nitro owns the HTTP server (PORT/NITRO_PORT).
 */
export const createGatewayNitroPlugin = ({ routes }: GatewayNitroPluginOptions = {}) =>
  defineNitroPlugin((nitroApp) => {
    gatewayState.ready = (async () => {
      // Nitro's node-server listens on NITRO_HOST/HOST, every interface when neither is set: the same
      // "no non-loopback bind without both tokens (or KTRDR_INSECURE=1)" rule as `ktrdr gateway`.
      const host = process.env.NITRO_HOST || process.env.HOST || '0.0.0.0'
      const services = await createGatewayServices(resolveGatewayOptions({ host }))
      const app = await createGatewayApp(services, { routes: await routes?.() })
      return { app, services }
    })()
    gatewayState.ready.catch((error) => {
      // A gateway that cannot start must not keep a port open answering 500s.
      console.error('[ktrdr] gateway failed to start:', (error as Error).message ?? error)
      process.exit(1)
    })
    nitroApp.hooks.hook('close', async () => {
      await (await gatewayState.ready)?.services.close()
    })
  })
