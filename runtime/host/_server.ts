import { createApp, createError, createRouter, defineEventHandler, getQuery, getRequestHeader, readBody, setResponseStatus, type App, type EventHandler } from 'h3'
import { z } from 'zod'
import type { DispatchRequest, HostHealth } from '../protocol/index.ts'
import { isKtrdrError, KtrdrError } from '../protocol/index.ts'

const dispatchSchema = z.object({
  operation_id: z.string().min(1).max(200),
  attempt: z.number().int().min(1),
  function: z.object({
    name: z.string().regex(/^[a-z][a-z0-9-]*$/),
    version: z.number().int().min(1),
    sha256: z.string().regex(/^[a-f0-9]{64}$/),
    bundle_key: z.string().min(1).max(500),
    timeout_seconds: z.number().positive(),
  }),
  input: z.unknown(),
  deadline_ms: z.number(),
})
const prefetchSchema = z.object({ name: z.string(), version: z.number().int().min(1), sha256: z.string().regex(/^[a-f0-9]{64}$/), bundle_key: z.string().min(1), timeout_seconds: z.number().optional() })

export interface HostApi {
  health(): HostHealth
  /** Accept an invocation; 'busy' when no slot is free or the host drains. */
  dispatch(request: DispatchRequest): { accepted: true; done: Promise<unknown> } | { accepted: false; reason: string }
  cancel(operationId: string, reason?: string): boolean
  prefetch(body: z.infer<typeof prefetchSchema>): void
  drain(): void
  info(): unknown
}

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body)
  if (parsed.success) return parsed.data
  throw new KtrdrError({ statusCode: 400, code: 'BAD_REQUEST', retryable: false, message: `Invalid ${what}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}` })
}

/** KtrdrError → H3Error, so h3 answers with our status/code and does not log a 4xx as an unhandled crash. */
function handler(fn: EventHandler): EventHandler {
  return defineEventHandler(async (event) => {
    try {
      return await fn(event)
    } catch (error) {
      if (!isKtrdrError(error)) throw error
      throw createError({ statusCode: error.statusCode, statusMessage: error.code, message: error.message, data: { code: error.code, retryable: error.retryable, details: error.details } })
    }
  })
}

/** The host's HTTP API (h3 v1), called by the gateway. Every route but /health needs the cluster token when one is set. */
export function createHostApp(api: HostApi, clusterToken: string | null): App {
  const app = createApp()
  const router = createRouter()
  if (clusterToken) {
    app.use(handler((event) => {
      if (event.path === '/health' || event.path.startsWith('/health?')) return
      if (getRequestHeader(event, 'authorization') !== `Bearer ${clusterToken}`) {
        throw new KtrdrError({ statusCode: 401, code: 'UNAUTHORIZED', retryable: false, message: 'This host requires the cluster token (Authorization: Bearer $KTRDR_CLUSTER_TOKEN)' })
      }
    }))
  }
  router.get('/health', handler(() => api.health()))
  router.get('/', handler(() => api.info()))
  router.post('/invocations', handler(async (event) => {
    const request = parse(dispatchSchema, await readBody(event), 'dispatch request') as DispatchRequest
    const result = api.dispatch(request)
    if (!result.accepted) throw new KtrdrError({ statusCode: 503, code: 'HOST_BUSY', retryable: true, message: result.reason })
    const wait = getQuery(event).wait
    if (wait === '1' || wait === 'true') return await result.done
    setResponseStatus(event, 202)
    return { accepted: true, operation_id: request.operation_id, attempt: request.attempt }
  }))
  router.delete('/invocations/:operation_id', handler((event) => {
    const id = decodeURIComponent(event.context.params!.operation_id!)
    if (!api.cancel(id, (getQuery(event).reason as string | undefined) ?? undefined)) {
      throw new KtrdrError({ statusCode: 404, code: 'OPERATION_NOT_RUNNING', retryable: false, message: `Operation ${id} is not running on this host` })
    }
    setResponseStatus(event, 202)
    return { cancelling: true, operation_id: id }
  }))
  router.post('/bundles/prefetch', handler(async (event) => {
    const body = parse(prefetchSchema, await readBody(event), 'prefetch request')
    api.prefetch(body)
    setResponseStatus(event, 202)
    return { prefetching: true, sha256: body.sha256 }
  }))
  router.post('/drain', handler((event) => {
    api.drain()
    setResponseStatus(event, 202)
    return { draining: true }
  }))
  app.use(router)
  return app
}
