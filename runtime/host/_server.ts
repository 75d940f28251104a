import {
  createApp,
  defineEventHandler,
  getQuery,
  getRouterParam,
  readBody,
  setResponseStatus,
  type App,
  type EventHandler,
  type H3Event,
} from 'h3'
import { z } from 'zod'
import type { DispatchRequest, HostHealth } from '../protocol/index.ts'
import { FUNCTION_NAME_RE, isKtrdrError, KtrdrError } from '../protocol/index.ts'
import {
  assertCanonicalPath,
  assignRequestId,
  createPolicyRouter,
  requireBearer,
  sendErrorJson,
  toH3Error,
  type RouteInfo,
} from '../http/index.ts'
import { STORAGE_PROXY_PATH } from './_storage-proxy.ts'

const dispatchSchema = z.object({
  operation_id: z.string().min(1).max(200),
  attempt: z.number().int().min(1),
  function: z.object({
    name: z.string().regex(FUNCTION_NAME_RE),
    version: z.number().int().min(1),
    sha256: z.string().regex(/^[a-f0-9]{64}$/),
    bundle_key: z.string().min(1).max(500),
    timeout_seconds: z.number().positive(),
  }),
  input: z.unknown(),
  deadline_ms: z.number(),
  secrets: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).optional(),
})
const prefetchSchema = z.object({
  name: z.string(),
  version: z.number().int().min(1),
  sha256: z.string().regex(/^[a-f0-9]{64}$/),
  bundle_key: z.string().min(1),
  timeout_seconds: z.number().optional(),
})

/** Prometheus text exposition format, version 0.0.4 (what prom-client writes). */
const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8'

export interface HostApi {
  health(): HostHealth
  /** Accept an invocation; 'busy' when no slot is free or the host drains. */
  dispatch(request: DispatchRequest): { accepted: true; done: Promise<unknown> } | { accepted: false; reason: string }
  cancel(operationId: string, reason?: string): boolean
  prefetch(body: z.infer<typeof prefetchSchema>): void
  drain(): void
  info(): unknown
  /** Prometheus text format. */
  metrics(): Promise<string>
}

/** A dispatch request's body, checked (HTTP route and channel alike); 400 naming what is wrong. */
export const parseDispatchRequest = (body: unknown): DispatchRequest => parse(dispatchSchema, body, 'dispatch request') as DispatchRequest

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body)
  if (parsed.success) return parsed.data
  throw new KtrdrError({
    code: 'BAD_REQUEST',
    message: `Invalid ${what}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`,
  })
}

/** KtrdrError → H3Error, so h3 answers with our status/code and does not log a 4xx as an unhandled crash. */
function handler(fn: EventHandler): EventHandler {
  return defineEventHandler(async (event) => {
    try {
      return await fn(event)
    } catch (error) {
      if (!isKtrdrError(error)) throw error
      throw toH3Error(error)
    }
  })
}

export interface HostApp extends App {
  /** Every route with its method, pattern and declared policy (tests enumerate it). */
  routes: readonly RouteInfo[]
}

/**
 * The host's HTTP API (h3 v1), called by the gateway. Auth is declared with each route: `/health`
 * is public (the gateway's probes and the guide's curl), everything else takes the cluster token
 * when one is set. Without a token the host listens on loopback only (createHost refuses otherwise).
 */
export function createHostApp(
  api: HostApi,
  clusterToken: string | null,
  storageProxy?: EventHandler,
  { metricsPublic = false }: { metricsPublic?: boolean } = {},
): HostApp {
  const app = createApp({
    // The gateway's error body, not h3's: one shape for every error a client or the gateway reads.
    // The storage endpoint keeps h3's body: executors' unstorage client reads the code from it.
    // (Its handler is mounted at the prefix, so the prefix is only in the original URL.)
    onError: (error, event) =>
      ((event.node.req as { originalUrl?: string }).originalUrl ?? event.node.req.url ?? '').startsWith(STORAGE_PROXY_PATH)
        ? undefined
        : sendErrorJson(error, event),
    onRequest: handler((event) => {
      assignRequestId(event)
      assertCanonicalPath(event.path)
    }),
  }) as HostApp
  // Executors' storage: authorised by a per-invocation capability, never the cluster token (see _storage-proxy.ts).
  if (storageProxy) app.use(STORAGE_PROXY_PATH, storageProxy)
  const router = createPolicyRouter(
    (event, route) => {
      if (route.auth !== 'public') authorize(event)
    },
    { auth: 'cluster', body: 'json' },
  )
  const authorize = (event: H3Event) => {
    try {
      requireBearer(event, [clusterToken], 'KTRDR_CLUSTER_TOKEN')
    } catch (error) {
      throw toH3Error(error as KtrdrError)
    }
  }
  router.get(
    '/health',
    { auth: 'public' },
    handler(() => api.health()),
  )
  router.get(
    '/',
    handler(() => api.info()),
  )
  // Behind the cluster token like the rest, unless KTRDR_METRICS_PUBLIC=1 (docs/operations.md#metrics).
  router.get(
    '/metrics',
    { auth: metricsPublic ? 'public' : 'cluster' },
    handler(async (event) => {
      event.node.res.setHeader('content-type', PROMETHEUS_TEXT)
      return api.metrics()
    }),
  )
  router.post(
    '/invocations',
    handler(async (event) => {
      const request = parseDispatchRequest(await readBody(event))
      const result = api.dispatch(request)
      if (!result.accepted) throw new KtrdrError({ code: 'HOST_BUSY', message: result.reason })
      const wait = getQuery(event).wait
      if (wait === '1' || wait === 'true') return await result.done
      setResponseStatus(event, 202)
      return { accepted: true, operation_id: request.operation_id, attempt: request.attempt }
    }),
  )
  router.delete(
    '/invocations/:operation_id',
    handler((event) => {
      // h3's tolerant decode: a malformed escape (%ff) stays as sent and is simply not running here,
      // where decodeURIComponent threw (a 500).
      const id = getRouterParam(event, 'operation_id', { decode: true }) ?? ''
      if (!api.cancel(id, (getQuery(event).reason as string | undefined) ?? undefined)) {
        throw new KtrdrError({
          code: 'OPERATION_NOT_RUNNING',
          message: `Operation ${id} is not running on this host`,
        })
      }
      setResponseStatus(event, 202)
      return { cancelling: true, operation_id: id }
    }),
  )
  router.post(
    '/bundles/prefetch',
    handler(async (event) => {
      const body = parse(prefetchSchema, await readBody(event), 'prefetch request')
      api.prefetch(body)
      setResponseStatus(event, 202)
      return { prefetching: true, sha256: body.sha256 }
    }),
  )
  router.post(
    '/drain',
    handler((event) => {
      api.drain()
      setResponseStatus(event, 202)
      return { draining: true }
    }),
  )
  app.use(router.handler)
  // Unmatched: the token first, so that an unauthenticated caller cannot tell routes apart.
  app.use(
    handler((event) => {
      authorize(event)
      throw new KtrdrError({
        code: 'ROUTE_NOT_FOUND',
        message: `No route for ${event.method} ${event.path.split('?')[0]}`,
      })
    }),
  )
  app.routes = router.routes
  return app
}
