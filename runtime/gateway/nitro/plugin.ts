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
export const createGatewayNitroPlugin = ({ routes }: GatewayNitroPluginOptions = {}) => defineNitroPlugin((nitroApp) => {
  gatewayState.ready = (async () => {
    const services = await createGatewayServices(resolveGatewayOptions({ host: '127.0.0.1', insecure: true }))
    const app = await createGatewayApp(services, { routes: await routes?.() })
    return { app, services }
  })()
  gatewayState.ready.catch((error) => { console.error('[ktrdr] gateway failed to start:', error); process.exitCode = 1 })
  nitroApp.hooks.hook('close', async () => { await (await gatewayState.ready)?.services.close() })
})
