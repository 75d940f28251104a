// Public entry of the gateway: `createGateway()` serves the REST API (h3 on node:http).
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toNodeListener } from 'h3'
import type { RouteInfo } from '../http/index.ts'
import { createGatewayApp } from './_app.ts'
import { resolveGatewayOptions, type GatewayConfig, type ResolvedGatewayOptions } from './_options.ts'
import { createGatewayServices, type GatewayServiceOverrides, type GatewayServices } from './_services.ts'
import type { GatewayRoutes } from './_routes.ts'

export { resolveGatewayOptions } from './_options.ts'
export type { GatewayConfig, ResolvedGatewayOptions, HealthOptions, QueueOptions, RetentionOptions } from './_options.ts'
export type { OperationsRetention } from './_retention.ts'
export { createGatewayServices } from './_services.ts'
export type { GatewayServices, GatewayServiceOverrides } from './_services.ts'
export { createGatewayApp, type GatewayAppOptions } from './_app.ts'
export type { GatewayApp } from './_app.ts'
export type { RouteAuth, RouteInfo, RouteOptions } from '../http/index.ts'
export type { GatewayHooks, GatewayHookMap } from './_hooks.ts'
export { defineGatewayRoutes } from './_routes.ts'
export type { GatewayRouteContext, GatewayRouter, GatewayRoutes } from './_routes.ts'
// For route modules outside the runtime (packs): the same body, invoke and stored-file handling as the runtime's routes.
export { readBodyBytes, readJsonBody, sendGatewayError } from './_http.ts'
export { checkInvokeRequest, type InvokeRequest } from './_invoke.ts'
// Gateway-side checks of a function's input that a JSON Schema cannot express (registered by packs).
export { defineInvokeCheck, type InvokeCheck, type InvokeCheckContext, type InvokeCheckDefinition } from './_invoke-checks.ts'
export { listStoreKeys, parseStoreKey, sendStoredFile, storedSize } from './_files.ts'

export interface Gateway {
  /** http://host:port (the real port when 0 was asked for). */
  url: string
  port: number
  options: ResolvedGatewayOptions
  services: GatewayServices
  server: Server
  /** Every route with its method, pattern and declared auth policy. */
  routes: readonly RouteInfo[]
  close(): Promise<void>
}

export interface GatewayServerConfig extends GatewayConfig {
  /** Route modules mounted beside the runtime's own (the packs' routes, e.g. research's API). */
  routes?: GatewayRoutes[]
}

export async function createGateway(
  { routes, ...config }: GatewayServerConfig = {},
  overrides: GatewayServiceOverrides = {},
): Promise<Gateway> {
  const options = resolveGatewayOptions(config)
  const services = await createGatewayServices(options, overrides)
  const app = await createGatewayApp(services, { routes })
  const server = createServer(toNodeListener(app))
  // Hosts heartbeat every 2 s on one keep-alive connection; keep it open well past that so that a
  // closed connection means something (the host died), which the health monitor acts on.
  server.keepAliveTimeout = Math.max(15_000, options.health.heartbeatIntervalMs * 4)
  server.headersTimeout = server.keepAliveTimeout + 5000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const host = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`
  services.logger.info(`Gateway listening on ${url} (db ${options.dbPath})`)
  let closing: Promise<void> | null = null
  return {
    url,
    port,
    options,
    services,
    server,
    routes: app.routes,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        })
        await services.close()
      })()
      return closing
    },
  }
}
