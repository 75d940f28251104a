import { createEventStream, defineEventHandler, getRouterParam, setResponseStatus, type H3Event } from 'h3'
import { z } from 'zod'
import { defineGatewayRoutes, listPage, pageQueryShape, readJsonBody, readQuery } from '../../runtime/gateway/index.ts'
import { KtrdrError } from '../../trading/index.ts'
import type { ParentStatus } from '../parents/runner.ts'
import { walkForwardBody, WALKFORWARD_EXAMPLES } from '../walkforward/request.ts'
import { createWalkForwards, type WalkForwards } from '../walkforward/walkforward.ts'
import type { WalkForwardRecord } from '../walkforward/_types.ts'

const STATUSES: ParentStatus[] = ['pending', 'running', 'completed', 'failed', 'cancelled']
const TERMINAL = new Set<ParentStatus>(['completed', 'failed', 'cancelled'])

const listQuery = z.object({
  status: z
    .string()
    .optional()
    .describe(`One of ${STATUSES.join(', ')}; comma-separated for several`),
  ...pageQueryShape({ limit: 50, maxLimit: 1000 }),
})

/**
 * Walk-forward analysis (docs/architecture.md#walk-forward-and-sweeps): POST starts one, the list
 * and the record show its folds and, once done, the stitched curve and the stability of every
 * figure; the files are under GET /api/v1/results/walkforward/<id>/. The engine starts with the
 * gateway (resuming live walk-forwards) and stops with it.
 */
export default defineGatewayRoutes((router, ctx) => {
  const engine: Promise<WalkForwards> = createWalkForwards(ctx)
  engine.catch((error: Error) => ctx.logger.error(`Walk-forward engine could not start: ${error.message}`))
  ctx.hooks.on('gateway:close', () => void engine.then((e) => e.close()).catch(() => {}))
  const id = (event: H3Event) => getRouterParam(event, 'id', { decode: true })!

  router.post(
    '/api/v1/walkforward',
    {
      doc: {
        summary: 'Start a walk-forward: train → out-of-sample test folds, each as child operations',
        description:
          'Plans rolling or anchored folds over the range, trains and backtests each fold as children (parent_operation_id) spread over the hosts, then stitches the test windows into one equity curve and summarises every figure across folds. 4xx naming the field for bad input.',
        tag: 'research',
        body: walkForwardBody,
        examples: WALKFORWARD_EXAMPLES,
        status: 202,
      },
    },
    defineEventHandler(async (event) => {
      const e = await engine
      const record = await e.start(await readJsonBody(event, ctx.options.maxBodyBytes))
      setResponseStatus(event, 202)
      return { success: true, ...e.view(record) }
    }),
  )

  router.get(
    '/api/v1/walkforward',
    { doc: { summary: 'Walk-forwards, newest first', tag: 'research', query: listQuery, response: 'list' } },
    defineEventHandler(async (event) => {
      const e = await engine
      const q = readQuery(event, listQuery)
      const status = q.status ? (q.status.toLowerCase().split(',') as ParentStatus[]) : undefined
      for (const s of status ?? [])
        if (!STATUSES.includes(s))
          throw new KtrdrError({
            code: 'BAD_REQUEST',
            message: `status must be one of ${STATUSES.join(', ')}`,
            details: { field: 'status' },
          })
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
    '/api/v1/walkforward/:id',
    { doc: { summary: 'One walk-forward: its folds, children, progress and (once done) summary', tag: 'research' } },
    defineEventHandler(async (event) => {
      const e = await engine
      return { success: true, data: e.view(await e.get(id(event))) }
    }),
  )

  router.get(
    '/api/v1/walkforward/:id/events',
    {
      doc: {
        summary: 'Server-sent events: the walk-forward now, each change (a child started or read), then its final state',
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
      const send = (name: string, r: WalkForwardRecord) => void stream.push({ event: name, data: JSON.stringify(e.view(r)) })
      send('state', first)
      let off = () => {}
      let ended = false
      const end = (r: WalkForwardRecord) => {
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
    '/api/v1/walkforward/:id',
    { doc: { summary: 'Cancel a walk-forward and every child still pending or running', tag: 'research' } },
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
})
