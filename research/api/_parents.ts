import { createEventStream, defineEventHandler, getRouterParam, setResponseStatus, type H3Event } from 'h3'
import { z } from 'zod'
import { listPage, readJsonBody, readQuery, type GatewayRouteContext, type GatewayRouter } from '../../runtime/gateway/index.ts'
import type { ParentRecord, ParentStatus } from '../parents/runner.ts'
import { statusFilter, statusListQuery } from './_status-query.ts'

const STATUSES: ParentStatus[] = ['pending', 'running', 'completed', 'failed', 'cancelled']
const TERMINAL = new Set<ParentStatus>(['completed', 'failed', 'cancelled'])

const listQuery = statusListQuery(STATUSES)

/** What a kind of fan-out parent gives its routes. */
export interface ParentEngine<R extends ParentRecord> {
  start(body: unknown): Promise<R>
  get(id: string): Promise<R>
  list(filter: { status?: ParentStatus[]; limit: number; offset: number }): Promise<{ items: R[]; total: number }>
  cancel(id: string, reason: string): Promise<{ record: R; cancelled: string[] }>
  subscribe(id: string, fn: (record: R) => void): () => void
  view(record: R): Record<string, unknown>
  close(): void
}

/**
 * The routes of a kind of fan-out parent (walk-forwards, sweeps), one shape for all: POST starts
 * one (202), GET lists them (the list envelope) or shows one, `/events` streams its changes (pushed
 * on every save, nothing polls), DELETE cancels it with its live children. The engine starts with
 * the gateway (resuming live parents) and stops with it. Returns the engine, for a kind's own routes.
 */
export function parentRoutes<R extends ParentRecord>(
  router: GatewayRouter,
  ctx: GatewayRouteContext,
  options: {
    path: string
    /** "walk-forward", "sweep": in summaries and messages. */
    noun: string
    engine: () => Promise<ParentEngine<R>>
    start: { summary: string; description: string; body: z.ZodType; examples: Record<string, unknown> }
  },
): Promise<ParentEngine<R>> {
  const { path, noun } = options
  const engine = options.engine()
  engine.catch((error: Error) => ctx.logger.error(`The ${noun} engine could not start: ${error.message}`))
  ctx.hooks.on('gateway:close', () => void engine.then((e) => e.close()).catch(() => {}))
  const id = (event: H3Event) => getRouterParam(event, 'id', { decode: true })!

  router.post(
    path,
    { doc: { ...options.start, tag: 'research', status: 202 } },
    defineEventHandler(async (event) => {
      const e = await engine
      const record = await e.start(await readJsonBody(event, ctx.options.maxBodyBytes))
      setResponseStatus(event, 202)
      return { success: true, ...e.view(record) }
    }),
  )

  router.get(
    path,
    { doc: { summary: `${noun[0].toUpperCase()}${noun.slice(1)}s, newest first`, tag: 'research', query: listQuery, response: 'list' } },
    defineEventHandler(async (event) => {
      const e = await engine
      const q = readQuery(event, listQuery)
      const status = statusFilter(q.status, STATUSES)
      const page = { limit: q.limit, offset: q.offset }
      const { items, total } = await e.list({ status, ...page })
      return {
        success: true,
        ...listPage(
          items.map((r) => e.view(r)),
          total,
          page,
        ),
      }
    }),
  )

  router.get(
    `${path}/:id`,
    { doc: { summary: `One ${noun}: its children, progress and (once done) its summary`, tag: 'research' } },
    defineEventHandler(async (event) => {
      const e = await engine
      return { success: true, data: e.view(await e.get(id(event))) }
    }),
  )

  router.get(
    `${path}/:id/events`,
    {
      doc: {
        summary: `Server-sent events: the ${noun} now, each change (a child started or read), then its final state`,
        tag: 'research',
        response: { contentType: 'text/event-stream', description: '`state`, then `progress` per change, then the final status' },
      },
    },
    defineEventHandler(async (event) => {
      const e = await engine
      const first = await e.get(id(event))
      if (event.method === 'HEAD') {
        event.node.res.setHeader('content-type', 'text/event-stream')
        return ''
      }
      const stream = createEventStream(event)
      const send = (name: string, r: R) => void stream.push({ event: name, data: JSON.stringify(e.view(r)) })
      send('state', first)
      let off = () => {}
      let ended = false
      const end = (r: R) => {
        if (ended) return
        ended = true
        off()
        send(r.status, r)
        // Closed after the last event is on the wire.
        setImmediate(() => void stream.close())
      }
      if (TERMINAL.has(first.status)) end(first)
      else {
        off = e.subscribe(first.operation_id, (r) => (TERMINAL.has(r.status) ? end(r) : send('progress', r)))
        // Finished between the read and the subscription: nothing more will be saved.
        const now = await e.get(first.operation_id)
        if (TERMINAL.has(now.status)) end(now)
        stream.onClosed(() => off())
      }
      return stream.send()
    }),
  )

  router.delete(
    `${path}/:id`,
    { doc: { summary: `Cancel a ${noun} and every child still pending or running`, tag: 'research' } },
    defineEventHandler(async (event) => {
      const e = await engine
      const body = await readJsonBody<{ reason?: unknown }>(event, ctx.options.maxBodyBytes).catch(() => ({}) as { reason?: unknown })
      const reason = typeof body.reason === 'string' && body.reason ? body.reason : 'Cancelled by request'
      const { record, cancelled } = await e.cancel(id(event), reason)
      return {
        success: true,
        operation_id: record.operation_id,
        status: record.status,
        cancelled_children: cancelled,
        data: e.view(record),
      }
    }),
  )
  return engine
}
