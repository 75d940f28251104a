import { ServerResponse, type IncomingMessage } from 'node:http'
import type { Hooks } from 'crossws'
import { createEvent, createRouter, type EventHandler, type H3Event, type RouterMethod } from 'h3'
import { KtrdrError, isKtrdrError } from '../protocol/index.ts'
import { assertCanonicalPath } from './_path.ts'
import type { ZodType } from 'zod'

/** Who may call a route: nobody needs a token (`public`), clients (`api`), hosts (`cluster`). */
export type RouteAuth = 'public' | 'api' | 'cluster'
/** Which body cap applies before the handler reads: small JSON, or bundle-sized uploads. */
export type RouteBody = 'json' | 'upload'

/** A body or response that is not JSON: its media type and what it holds. */
export interface RouteMedia {
  contentType: string
  description: string
}

/**
 * What the OpenAPI document says about a route (GET /api/v1/openapi.json). `query` and `body` are
 * the zod schemas the handler validates with, so the document cannot drift from the checks.
 */
export interface RouteDoc {
  summary: string
  description?: string
  /** Section in the reference; default: from the path (operations, workers, functions…). */
  tag?: string
  query?: ZodType
  body?: ZodType | RouteMedia
  /** Request bodies the reference shows; tests check each against `body`. */
  examples?: Record<string, unknown>
  /** 200 by default. */
  status?: number
  response?: ZodType | RouteMedia | 'list' | 'operation'
}

export interface RouteOptions {
  auth?: RouteAuth
  body?: RouteBody
  doc?: RouteDoc
}

export interface RouteInfo {
  /** `all` for `use()`. */
  method: RouterMethod | 'all'
  /** The pattern as registered (`/api/v1/workers/:id/events`, `/api/v1/storage/:mount/**`). */
  path: string
  auth: RouteAuth
  body: RouteBody
  doc?: RouteDoc
}

type Add = {
  (path: string, handler: EventHandler): PolicyRouter
  (path: string, options: RouteOptions, handler: EventHandler): PolicyRouter
}

/**
 * h3's router with the policy declared on each route: `router.get(path, handler)` takes the
 * defaults (API token) and also answers HEAD, `router.post(path, { auth: 'cluster' }, handler)` says otherwise. The
 * policy travels inside the handler the router matched, so whatever path spelling the router
 * accepts for a route (trailing slash, percent-encoding) gets exactly that route's check; there is
 * no second path match that could disagree with the router's.
 */
export interface PolicyRouter extends Record<RouterMethod, Add> {
  use: Add
  /**
   * A WebSocket route (crossws hooks, served through h3's `app.websocket`): the route's policy is
   * checked on the upgrade request before `hooks.upgrade`, and a plain GET gets 401 or 426.
   */
  ws(path: string, options: RouteOptions, hooks: Partial<Hooks>): PolicyRouter
  /** Every route registered so far, in order. */
  readonly routes: readonly RouteInfo[]
  /** The h3 handler to mount with `app.use()`. Falls through (returns undefined) when nothing matches. */
  readonly handler: EventHandler
  /** The methods routes serve at this path (upper case), for a 405's `Allow`; empty when no route has it. */
  allowedMethods(path: string): string[]
}

/** A registered pattern as a RegExp over the path (`:name` one segment, `**` the rest, trailing slash optional). */
function patternRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/\/+$/, '')
    .split('/')
    .map((seg) => (seg === '**' ? '.*' : seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${body}/?$`)
}

const METHODS: RouterMethod[] = ['connect', 'delete', 'get', 'head', 'options', 'post', 'put', 'trace', 'patch']

/** `guard` runs before each matched handler with that route's declared policy; it throws to refuse. */
export function createPolicyRouter(
  guard: (event: H3Event, route: RouteInfo) => void,
  defaults: Required<Omit<RouteOptions, 'doc'>>,
): PolicyRouter {
  const h3 = createRouter()
  const routes: RouteInfo[] = []
  const lastHandler = new WeakMap<RouteInfo, EventHandler>()
  const add =
    (method: RouterMethod | 'all') =>
    (path: string, a: RouteOptions | EventHandler, b?: EventHandler): PolicyRouter => {
      const [options, handler] = typeof a === 'function' ? [{}, a] : [a, b!]
      const route: RouteInfo = { method, path, auth: options.auth ?? defaults.auth, body: options.body ?? defaults.body, doc: options.doc }
      routes.push(route)
      const guarded = ((event: H3Event) => {
        guard(event, route)
        return handler(event)
      }) as EventHandler
      guarded.__is_handler__ = true
      lastHandler.set(route, guarded)
      if (method === 'all') h3.use(path, guarded)
      else h3[method](path, guarded)
      // Every GET answers HEAD the same way, auth included (node:http sends no body for HEAD);
      // `curl -I` is the guide's reachability check. Not a route of its own in the table.
      if (method === 'get') h3.head(path, guarded)
      return router
    }
  const matchers: Array<{ route: RouteInfo; re: RegExp }> = []
  const allowedMethods = (path: string) => {
    const bare = path.split('?')[0]
    for (const r of routes.slice(matchers.length)) matchers.push({ route: r, re: patternRegExp(r.path) })
    const methods = new Set<string>()
    for (const { route, re } of matchers) {
      if (route.method === 'all' || !re.test(bare)) continue
      methods.add(route.method.toUpperCase())
      if (route.method === 'get') methods.add('HEAD')
    }
    return [...methods]
  }
  const ws = (path: string, options: RouteOptions, hooks: Partial<Hooks>): PolicyRouter => {
    add('get')(path, options, () => {
      throw new KtrdrError({ code: 'UPGRADE_REQUIRED', message: `${path} is a WebSocket: send the upgrade headers` })
    })
    const route = routes.at(-1)!
    const upgrade: Hooks['upgrade'] = async (request) => {
      // The same checks as any request to this route: the path rule, then the route's policy.
      const event = upgradeEvent(request)
      try {
        assertCanonicalPath(event.path)
        guard(event, route)
      } catch (error) {
        return upgradeRefusal(error)
      }
      return hooks.upgrade?.(request)
    }
    // h3 resolves an upgrade's path to the route's handler and takes the hooks from it.
    const handler = lastHandler.get(route)!
    handler.__websocket__ = { ...hooks, upgrade }
    return router
  }
  const router = { routes, handler: h3.handler, use: add('all'), allowedMethods, ws } as unknown as PolicyRouter
  for (const m of METHODS) router[m] = add(m) as Add
  return router
}

/** An H3Event over an upgrade request, for the checks every request of a route goes through. */
function upgradeEvent(request: Parameters<Hooks['upgrade']>[0]): H3Event {
  // crossws's Node adapter keeps the IncomingMessage; other adapters give a Request.
  const req =
    (request as { _req?: IncomingMessage })._req ??
    ({ method: 'GET', url: new URL(request.url).pathname, headers: Object.fromEntries(request.headers) } as unknown as IncomingMessage)
  return createEvent(req, new ServerResponse(req))
}

/** A refused upgrade: the error's status and the usual JSON error body. */
export function upgradeRefusal(error: unknown): Response {
  const e = error as { statusCode?: number; message?: string; data?: { code?: string } }
  const body = isKtrdrError(error)
    ? { ...error.toJSON(), statusCode: error.statusCode }
    : { code: e.data?.code ?? 'INTERNAL_ERROR', message: e.message ?? 'Refused', statusCode: e.statusCode ?? 500 }
  return Response.json(body, { status: body.statusCode })
}
