import { defineNitroPlugin } from 'nitropack/runtime'
import { createGatewayApp } from '../_app.ts'
import { resolveGatewayOptions } from '../_options.ts'
import { createGatewayServices } from '../_services.ts'
import { gatewayState } from './_state.ts'

/**
 * Nitro deployment of the gateway: the same services and h3 app as `ktrdr gateway`, built once at
 * start-up from the environment (KTRDR_* variables). Nitro owns the HTTP server (PORT/NITRO_PORT).
 */
export default defineNitroPlugin((nitroApp) => {
  gatewayState.ready = (async () => {
    const services = await createGatewayServices(resolveGatewayOptions({ host: '127.0.0.1', insecure: true }))
    const app = await createGatewayApp(services)
    return { app, services }
  })()
  gatewayState.ready.catch((error) => { console.error('[ktrdr] gateway failed to start:', error); process.exitCode = 1 })
  nitroApp.hooks.hook('close', async () => { await (await gatewayState.ready)?.services.close() })
})
