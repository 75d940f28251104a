// Public entry of the gateway: `createGateway()` serves the REST API (h3 on node:http).
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toNodeListener, type App } from 'h3'
import { answerClientError, type RouteInfo } from '../http/index.ts'
import { createGatewayApp } from './_app.ts'
import { createConsola } from 'consola'
import { redactUrl } from './_db-url.ts'
import { resolveGatewayOptions, type GatewayConfig, type ResolvedGatewayOptions } from './_options.ts'
import { createGatewayServices, type GatewayServiceOverrides, type GatewayServices } from './_services.ts'
import type { GatewayRoutes } from './_routes.ts'
import { serveUpgrades } from './_upgrade.ts'

export { resolveGatewayOptions } from './_options.ts'
export type {
  GatewayConfig,
  ResolvedGatewayOptions,
  HealthOptions,
  LeaderOptions,
  LogOptions,
  QueueOptions,
  RetentionOptions,
} from './_options.ts'
export type { GatewayPair } from './_pair.ts'
export type { OperationsRetention } from './_retention.ts'
export { createGatewayServices } from './_services.ts'
export type { GatewayServices, GatewayServiceOverrides } from './_services.ts'
export { createGatewayApp, type GatewayAppOptions } from './_app.ts'
export type { GatewayApp } from './_app.ts'
export type { RouteAuth, RouteDoc, RouteInfo, RouteMedia, RouteOptions } from '../http/index.ts'
export type { GatewayHooks, GatewayHookMap } from './_hooks.ts'
export { defineGatewayRoutes } from './_routes.ts'
export type { GatewayRouteContext, GatewayRouter, GatewayRoutes } from './_routes.ts'
// For route modules outside the runtime (packs): the same body, invoke and stored-file handling as the runtime's routes.
export { readBodyBytes, readJsonBody, sendGatewayError } from './_http.ts'
// The list envelope {data, total_count, limit, offset} and the query helpers of every list route.
export { listPage, pageOf, pageParams, type ListPage, type PageParams } from './_list.ts'
export { pageQueryShape, readQuery } from './_query.ts'
export { checkInvokeRequest, type InvokeOptions, type InvokeRequest, type InvokeResult } from './_invoke.ts'
export { cancelOperationTree } from './_cancel.ts'
// Gateway-side checks of a function's input that a JSON Schema cannot express (registered by packs).
export { defineInvokeCheck, type InvokeCheck, type InvokeCheckContext, type InvokeCheckDefinition } from './_invoke-checks.ts'
export { listStoreKeys, parseStoreKey, sendStoredFile, storedSize } from './_files.ts'

export interface Gateway {
  /** http://host:port (the real port when 0 was asked for). */
  url: string
  port: number
  options: ResolvedGatewayOptions
  /** The running services; on a standby (PostgreSQL only) reading this throws GATEWAY_STANDBY. */
  services: GatewayServices
  /** 'active' serves the API; 'standby' (PostgreSQL only) waits for the advisory lock. */
  role: 'active' | 'standby'
  /** Resolves with the services once this gateway is (or becomes) the active one. */
  whenActive(): Promise<GatewayServices>
  server: Server
  /** Every route with its method, pattern and declared auth policy (the standby's while standby). */
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
  if (options.databaseUrl) return createPairedGateway(options, overrides, routes)
  const services = await createGatewayServices(options, overrides)
  const app = await createGatewayApp(services, { routes })
  const server = createServer(toNodeListener(app))
  const upgrades = serveUpgrades(server, () => app, { maxPayload: options.maxBodyBytes })
  const url = await listen(server, options)
  services.logger.info(`Gateway listening on ${url} (db ${options.dbPath})`)
  let closing: Promise<void> | null = null
  return {
    url,
    port: (server.address() as AddressInfo).port,
    options,
    services,
    role: 'active',
    whenActive: async () => services,
    server,
    routes: app.routes,
    close() {
      closing ??= (async () => {
        upgrades.close()
        await closeServer(server)
        await services.close()
      })()
      return closing
    },
  }
}

/** A gateway of an active/standby pair on PostgreSQL (see _pair.ts) on its own node:http server. */
async function createPairedGateway(
  options: ResolvedGatewayOptions,
  overrides: GatewayServiceOverrides,
  routes: GatewayServerConfig['routes'],
): Promise<Gateway> {
  // Loaded only here: a SQLite gateway never loads pg.
  const { createGatewayPair, standbyServicesError } = await import('./_pair.ts')
  const logger = overrides.logger ?? createConsola({ level: options.quiet ? 0 : 3 }).withTag('gateway')
  const pair = await createGatewayPair(options, { ...overrides, logger }, (services) => createGatewayApp(services, { routes }))
  // One node listener per app: the pair swaps apps at a takeover or a step-down.
  const listeners = new WeakMap<App, RequestListener>()
  const server = createServer((req, res) => {
    const app = pair.app
    let listener = listeners.get(app)
    if (!listener) listeners.set(app, (listener = toNodeListener(app)))
    return listener(req, res)
  })
  const upgrades = serveUpgrades(server, () => pair.app, { maxPayload: options.maxBodyBytes })
  const url = await listen(server, options)
  await pair.listening(url)
  logger.info(`Gateway listening on ${url} (db ${redactUrl(options.databaseUrl!)}, ${pair.role})`)
  let closing: Promise<void> | null = null
  return {
    url,
    port: (server.address() as AddressInfo).port,
    options,
    server,
    get services(): GatewayServices {
      if (!pair.services) throw standbyServicesError()
      return pair.services
    },
    get role() {
      return pair.role
    },
    whenActive: () => pair.whenActive(),
    get routes() {
      return pair.app.routes
    },
    close() {
      closing ??= (async () => {
        upgrades.close()
        await closeServer(server)
        await pair.close()
      })()
      return closing
    },
  }
}

function listen(server: Server, options: ResolvedGatewayOptions): Promise<string> {
  // Hosts heartbeat every 2 s on one keep-alive connection; keep it open well past that so that a
  // closed connection means something (the host died), which the health monitor acts on.
  server.keepAliveTimeout = Math.max(15_000, options.health.heartbeatIntervalMs * 4)
  server.headersTimeout = server.keepAliveTimeout + 5000
  server.on('clientError', answerClientError)
  return new Promise<string>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      const port = (server.address() as AddressInfo).port
      const host = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host
      resolve(`http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`)
    })
  })
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}
