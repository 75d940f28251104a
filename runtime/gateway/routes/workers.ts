import { defineEventHandler, getQuery, getRequestHeader, getRouterParam, setResponseStatus, type H3Event } from 'h3'
import type {
  HeartbeatRequest,
  HeartbeatResponse,
  HostEventAck,
  HostEventBatch,
  WorkerRegistration,
  WorkerStatus,
} from '../../protocol/index.ts'
import { HOST_SECRET_HEADER, KtrdrError } from '../../protocol/index.ts'
import { bearerToken } from '../../http/index.ts'
import { receiveHostEvents } from '../_host-events.ts'
import { readJsonBody } from '../_http.ts'
import { defineGatewayRoutes, type GatewayRouteContext } from '../_routes.ts'
import type { WorkerEntry } from '../_workers.ts'

const STATUSES: WorkerStatus[] = ['AVAILABLE', 'BUSY', 'TEMPORARILY_UNAVAILABLE']

function invalid(message: string, field: string): never {
  throw new KtrdrError({ code: 'BAD_REQUEST', message, details: { field } })
}

function checkRegistration(body: Record<string, unknown>): WorkerRegistration {
  if (typeof body.worker_id !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(body.worker_id))
    invalid('worker_id must be 1–128 characters of letters, digits, . _ : -', 'worker_id')
  if (typeof body.worker_type !== 'string' || !body.worker_type)
    invalid('worker_type must be a non-empty string (e.g. backtesting, training, general)', 'worker_type')
  if (typeof body.endpoint_url !== 'string' || !/^https?:\/\/[^\s/]+/.test(body.endpoint_url))
    invalid('endpoint_url must be an http(s) URL such as http://10.0.0.5:5003', 'endpoint_url')
  const caps = (body.capabilities ?? {}) as Record<string, unknown>
  if (typeof caps !== 'object' || Array.isArray(caps)) invalid('capabilities must be an object', 'capabilities')
  if (caps.slots !== undefined && (!Number.isInteger(caps.slots) || (caps.slots as number) < 1))
    invalid('capabilities.slots must be a positive integer', 'capabilities.slots')
  if (caps.labels !== undefined && !(Array.isArray(caps.labels) && caps.labels.every((l) => typeof l === 'string')))
    invalid('capabilities.labels must be an array of strings', 'capabilities.labels')
  // llm: a flag, or the model the host serves (kept whole: the research loop reads its id).
  const llm = caps.llm as unknown
  if (
    llm !== undefined &&
    typeof llm !== 'boolean' &&
    !(
      llm &&
      typeof llm === 'object' &&
      typeof (llm as { model?: unknown }).model === 'string' &&
      typeof (llm as { sha256?: unknown }).sha256 === 'string'
    )
  )
    invalid('capabilities.llm must be true, false or {model, sha256, …}', 'capabilities.llm')
  for (const list of ['running_operations', 'completed_operations', 'warm_bundles'] as const) {
    if (body[list] !== undefined && !Array.isArray(body[list])) invalid(`${list} must be an array`, list)
  }
  return {
    ...(body as unknown as WorkerRegistration),
    capabilities: {
      cores: Number(caps.cores) || 0,
      memory_gb: Number(caps.memory_gb) || 0,
      ...caps,
      gpu: !!caps.gpu,
      ib: !!caps.ib,
      llm: typeof llm === 'object' && llm !== null ? (llm as WorkerRegistration['capabilities']['llm']) : !!llm,
      slots: (caps.slots as number) ?? 1,
    },
  }
}

const hostSecret = (event: H3Event) => getRequestHeader(event, HOST_SECRET_HEADER) || undefined

/**
 * A host checks the gateway's calls against the token it registers with, and the gateway calls
 * with the token registration takes (the cluster token, else the API token; the route's policy
 * has compared them). A gateway with no token at all calls with none, so a host that registers
 * with one would refuse every dispatch: refuse it here, where the host's log shows why, instead of
 * at its first operation.
 */
function refuseUnusableToken(ctx: GatewayRouteContext, event: H3Event): void {
  if (ctx.options.clusterToken || ctx.options.apiToken || bearerToken(getRequestHeader(event, 'authorization')) === null) return
  throw new KtrdrError({
    code: 'UNAUTHORIZED',
    message:
      'This host has a cluster token (KTRDR_CLUSTER_TOKEN) but the gateway has none, so it could not call the host: set the same KTRDR_CLUSTER_TOKEN on the gateway and every host (or none on the host)',
  })
}

/**
 * Other ids registered at this registration's endpoint. The endpoint's own /health says who
 * listens there: this id → the others are stale (the host restarted under a new id); one of them
 * → this registration is refused, the live host keeps its id and its work; no answer → both stay
 * and the health checks settle them.
 */
async function staleAtEndpoint(ctx: GatewayRouteContext, body: WorkerRegistration): Promise<WorkerEntry[]> {
  const others = ctx.workers.atEndpoint(body.endpoint_url, body.worker_id)
  if (others.length === 0) return []
  const endpoint = body.endpoint_url.replace(/\/+$/, '')
  const answer = await ctx.client.health(endpoint, ctx.options.health.probeTimeoutMs).catch(() => null)
  const listening = answer?.status === 200 ? answer.body?.worker_id : undefined
  if (listening === body.worker_id) return others
  if (listening && others.some((o) => o.record.worker_id === listening)) {
    throw new KtrdrError({
      code: 'ENDPOINT_IN_USE',
      message: `Endpoint ${endpoint} belongs to the registered worker "${listening}" (its /health says so), not to "${body.worker_id}": register each host with its own endpoint_url`,
      details: { endpoint_url: endpoint, worker_id: listening },
    })
  }
  return []
}

export default defineGatewayRoutes((router, ctx) => {
  const max = ctx.options.maxBodyBytes

  router.post(
    '/api/v1/workers/register',
    { auth: 'cluster' },
    defineEventHandler(async (event) => {
      refuseUnusableToken(ctx, event)
      const body = checkRegistration(await readJsonBody(event, max))
      const stale = await staleAtEndpoint(ctx, body)
      const response = ctx.reconciler.register(body, hostSecret(event), stale)
      const entry = ctx.workers.get(body.worker_id)
      if (entry) ctx.health.trackConnection(entry, event.node.req.socket)
      // The host forgets the completions it reported once we answer, and keeps the secret we issue:
      // commit both first.
      await ctx.operations.flushed()
      await ctx.reconciler.flushed()
      return response
    }),
  )

  router.get(
    '/api/v1/workers',
    defineEventHandler((event) => {
      const q = getQuery(event)
      const type = typeof q.worker_type === 'string' ? q.worker_type : undefined
      const status = typeof q.status === 'string' ? q.status.toUpperCase() : undefined
      if (status && !STATUSES.includes(status as WorkerStatus)) invalid(`status must be one of ${STATUSES.join(', ')}`, 'status')
      return ctx.workers
        .all()
        .map((e) => e.record)
        .filter((r) => (!type || r.worker_type === type) && (!status || r.status === status))
    }),
  )

  router.get(
    '/api/v1/workers/health',
    defineEventHandler(() => ctx.workers.summary()),
  )

  router.get(
    '/api/v1/workers/:id',
    defineEventHandler((event) => ctx.workers.require(getRouterParam(event, 'id', { decode: true })!).record),
  )

  router.post(
    '/api/v1/workers/:id/heartbeat',
    { auth: 'cluster' },
    defineEventHandler(async (event): Promise<HeartbeatResponse> => {
      const entry = ctx.workers.require(getRouterParam(event, 'id', { decode: true })!)
      ctx.reconciler.verify(entry.record.worker_id, hostSecret(event))
      const body = await readJsonBody<HeartbeatRequest>(event, max)
      if (body.running_operations !== undefined && !Array.isArray(body.running_operations))
        invalid('running_operations must be an array', 'running_operations')
      ctx.health.trackConnection(entry, event.node.req.socket)
      return { ok: true, cancel: ctx.reconciler.heartbeat(entry, body) }
    }),
  )

  router.post(
    '/api/v1/workers/:id/events',
    { auth: 'cluster' },
    defineEventHandler(async (event): Promise<HostEventAck> => {
      const id = getRouterParam(event, 'id', { decode: true })!
      ctx.reconciler.verify(id, hostSecret(event))
      return receiveHostEvents(ctx, id, await readJsonBody<HostEventBatch>(event, max), event.node.req.socket)
    }),
  )

  // The host channel (WebSocket): dispatches to the host, its event batches back (see _host-channel.ts).
  router.ws('/api/v1/workers/:id/channel', { auth: 'cluster' }, ctx.channels.hooks)

  router.post(
    '/api/v1/workers/:id/drain',
    defineEventHandler((event) => {
      const entry = ctx.workers.require(getRouterParam(event, 'id', { decode: true })!)
      entry.record.metadata.draining = true
      ctx.workers.refresh(entry)
      ctx.logger.info(`Host ${entry.record.worker_id} draining: no new work, ${entry.running.size} operation(s) finish there`)
      return entry.record
    }),
  )

  router.post(
    '/api/v1/workers/:id/undrain',
    defineEventHandler((event) => {
      const entry = ctx.workers.require(getRouterParam(event, 'id', { decode: true })!)
      entry.record.metadata.draining = false
      ctx.workers.refresh(entry)
      ctx.logger.info(`Host ${entry.record.worker_id} takes new work again`)
      ctx.dispatcher.kick()
      return entry.record
    }),
  )

  // A host stopping gracefully (SIGTERM, SIGINT) leaves at once instead of lingering
  // TEMPORARILY_UNAVAILABLE until the removal threshold. Its id stays its own (the secret is kept),
  // so the same host registers again when it restarts.
  router.post(
    '/api/v1/workers/:id/deregister',
    { auth: 'cluster' },
    defineEventHandler(async (event) => {
      const id = getRouterParam(event, 'id', { decode: true })!
      ctx.reconciler.verify(id, hostSecret(event))
      const entry = ctx.workers.get(id)
      if (!entry) return { removed: false, worker_id: id, requeued_operations: [] }
      const held = [...entry.running.keys()]
      // Lost only when it still held work to settle: a clean stop is not a death (ktrdr_hosts_lost_total).
      if (held.length) ctx.workers.markLost(entry, 'the host stopped and deregistered')
      ctx.workers.remove(id)
      ctx.logger.info(`Host ${id} stopped and deregistered${held.length ? `; ${held.length} operation(s) re-queued` : ''}`)
      await ctx.operations.flushed()
      return { removed: true, worker_id: id, requeued_operations: held }
    }),
  )

  // Also releases the id: its host secret is forgotten, the next host to register under it gets a new one.
  router.delete(
    '/api/v1/workers/:id',
    defineEventHandler(async (event) => {
      const id = getRouterParam(event, 'id', { decode: true })!
      if (!ctx.workers.get(id) && ctx.reconciler.release(id)) {
        await ctx.reconciler.flushed()
        return { removed: true, worker_id: id, requeued_operations: [] }
      }
      const entry = ctx.workers.require(id)
      ctx.reconciler.release(id)
      const held = [...entry.running.keys()]
      ctx.workers.markLost(entry, 'deregistered by DELETE /api/v1/workers')
      ctx.workers.remove(entry.record.worker_id)
      await ctx.operations.flushed()
      await ctx.reconciler.flushed()
      setResponseStatus(event, 200)
      return { removed: true, worker_id: entry.record.worker_id, requeued_operations: held }
    }),
  )
})
