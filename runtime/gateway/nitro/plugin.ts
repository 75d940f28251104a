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
 * With KTRDR_DATABASE_URL it is one gateway of an active/standby pair (see _pair.ts), serving the
 * standby's answers until it holds the leader lock.
 */
export const createGatewayNitroPlugin = ({ routes }: GatewayNitroPluginOptions = {}) =>
  defineNitroPlugin((nitroApp) => {
    gatewayState.ready = (async () => {
      // Nitro's node-server listens on NITRO_HOST/HOST, every interface when neither is set: the same
      // "no non-loopback bind without both tokens (or KTRDR_INSECURE=1)" rule as `ktrdr gateway`.
      const host = process.env.NITRO_HOST || process.env.HOST || '0.0.0.0'
      const options = resolveGatewayOptions({ host })
      const packRoutes = await routes?.()
      if (options.databaseUrl) {
        const { createGatewayPair } = await import('../_pair.ts')
        const pair = await createGatewayPair(options, {}, (services) => createGatewayApp(services, { routes: packRoutes }))
        // Nitro listens after its plugins ran; the address it will listen on, for the standby to name
        // (KTRDR_GATEWAY_PUBLIC_URL takes precedence, and is what a pair on two machines needs).
        const port = process.env.NITRO_PORT || process.env.PORT || '3000'
        await pair.listening(`http://${host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${port}`)
        return { app: () => pair.app, close: () => pair.close() }
      }
      const services = await createGatewayServices(options)
      const app = await createGatewayApp(services, { routes: packRoutes })
      return { app: () => app, close: () => services.close() }
    })()
    gatewayState.ready.catch((error) => {
      // A gateway that cannot start must not keep a port open answering 500s.
      console.error('[ktrdr] gateway failed to start:', (error as Error).message ?? error)
      process.exit(1)
    })
    nitroApp.hooks.hook('close', async () => {
      await (await gatewayState.ready)?.close()
    })
  })
