import { createEventStream, defineEventHandler, getRouterParam } from 'h3'
import { z } from 'zod'
import type { Operation, OperationStatus } from '../../protocol/index.ts'
import { KtrdrError } from '../../protocol/index.ts'
import { eventStreamHead, readJsonBody, startEventStream } from '../_http.ts'
import { cancelOperationTree } from '../_cancel.ts'
import { listPage } from '../_list.ts'
import { isTerminal } from '../_operations.ts'
import { pageQueryShape, readQuery } from '../_query.ts'
import { defineGatewayRoutes } from '../_routes.ts'
import { logMessage } from './logs.ts'

const STATUSES: OperationStatus[] = ['pending', 'running', 'completed', 'failed', 'cancelled']

/** Query of GET /api/v1/operations (validated with it; the OpenAPI document shows it). */
const listQuery = z.object({
  status: z
    .string()
    .optional()
    .describe(`One of ${STATUSES.join(', ')}; comma-separated for several`),
  active_only: z.enum(['true', 'false', '1', '0']).optional().describe('Only pending and running'),
  operation_type: z.string().optional().describe('training, backtesting, data_load, dummy…'),
  function: z.string().optional().describe('Function name'),
  worker_id: z.string().optional().describe('Host that runs or ran it'),
  ...pageQueryShape({ limit: 100, maxLimit: 1000 }),
})

/** Query of GET /api/v1/operations/:id/children. */
const childrenQuery = z.object(pageQueryShape({ limit: 100, maxLimit: 1000 }))

export default defineGatewayRoutes((router, ctx) => {
  router.get(
    '/api/v1/operations',
    { doc: { summary: 'Operations, newest first', query: listQuery, response: 'list' } },
    defineEventHandler(async (event) => {
      const q = readQuery(event, listQuery)
      const activeOnly = q.active_only === 'true' || q.active_only === '1'
      const status = q.status ? q.status.toLowerCase().split(',') : activeOnly ? ['pending', 'running'] : undefined
      for (const s of status ?? []) {
        if (!STATUSES.includes(s as OperationStatus))
          throw new KtrdrError({
            code: 'BAD_REQUEST',
            message: `status must be one of ${STATUSES.join(', ')} (comma-separated for several)`,
            details: { field: 'status' },
          })
      }
      const { limit, offset } = q
      const { items, total } = await ctx.operations.list({
        status: status as OperationStatus[] | undefined,
        operation_type: q.operation_type || undefined,
        function: q.function || undefined,
        worker_id: q.worker_id || undefined,
        limit,
        offset,
      })
      // The list envelope (docs/architecture.md#lists-and-errors), plus docs/domain.md#rest-api's success and active_count.
      return { data: items, total_count: total, limit, offset, success: true, active_count: ctx.operations.counts().live }
    }),
  )

  router.get(
    '/api/v1/operations/:id',
    defineEventHandler(async (event) => (await ctx.operations.require(getRouterParam(event, 'id', { decode: true })!)).op),
  )

  router.delete(
    '/api/v1/operations/:id',
    defineEventHandler(async (event) => {
      const s = await ctx.operations.require(getRouterParam(event, 'id', { decode: true })!)
      const body = await readJsonBody<{ reason?: unknown }>(event, ctx.options.maxBodyBytes).catch(() => ({}) as { reason?: unknown })
      const reason = typeof body.reason === 'string' && body.reason ? body.reason : 'Cancelled by request'
      // Cascades: children (and theirs) still pending or running are cancelled with it.
      const cancelled = cancelOperationTree(ctx, s, reason)
      await ctx.operations.flushed()
      return { success: true, ...s.op, cancelled_children: cancelled.filter((id) => id !== s.op.operation_id) }
    }),
  )

  /** The operations started as steps of this one (parent_operation_id), newest first. */
  router.get(
    '/api/v1/operations/:id/children',
    {
      doc: {
        summary: 'Operations started as steps of this one (parent_operation_id), newest first',
        description: 'The parent may be an operation or a pack’s own parent (a research loop); an unknown id has no children.',
        query: childrenQuery,
        response: 'list',
      },
    },
    defineEventHandler(async (event) => {
      const id = getRouterParam(event, 'id', { decode: true })!
      const page = readQuery(event, childrenQuery)
      const { items, total } = await ctx.operations.list({ parent_operation_id: id, ...page })
      return { ...listPage(items, total, page), parent_operation_id: id }
    }),
  )

  router.post(
    '/api/v1/operations/:id/resume',
    defineEventHandler(async (event) => {
      const s = await ctx.operations.require(getRouterParam(event, 'id', { decode: true })!)
      const op = ctx.operations.resume(s)
      ctx.dispatcher.kick()
      await ctx.operations.flushed()
      return { success: true, ...op }
    }),
  )

  /** Server-Sent Events: the current state, every change and new log line (`log`), then the final state; pushed, not polled. */
  router.get(
    '/api/v1/operations/:id/events',
    defineEventHandler(async (event) => {
      const id = getRouterParam(event, 'id', { decode: true })!
      const first = (await ctx.operations.require(id)).op
      if (event.method === 'HEAD') return eventStreamHead(event)
      const stream = createEventStream(event)
      const send = (name: string, op: Operation) => {
        void stream.push({ event: name, data: JSON.stringify(op) })
      }
      let off = () => {}
      let offLog = () => {}
      const finish = (op: Operation) => {
        send(op.status, op)
        off()
        offLog()
        void stream.close()
      }
      send('state', first)
      if (isTerminal(first))
        setImmediate(() => finish(first)) // close after the event is on the wire
      else {
        off = ctx.operations.watch(id, (kind, op) => {
          // Lines the host sent before this change were handed to the log writer before it was
          // applied: once written (and pushed below), the change goes out, so the stream keeps the
          // host's order (the attempt's last lines before its final state, an epoch's line before
          // the progress that follows it).
          if (kind === 'finished') {
            void ctx.logs.flushed().then(() => finish(op))
            return
          }
          const data = JSON.stringify(op)
          void ctx.logs.flushed().then(() => stream.push({ event: kind === 'requeued' ? 'requeued' : 'progress', data }))
        })
        // New lines as they arrive (the whole log: GET /api/v1/operations/:id/logs).
        offLog = ctx.hooks.on('operation:log', (operationId, lines) => {
          if (operationId === id) for (const line of lines) void stream.push(logMessage(line))
        })
      }
      stream.onClosed(() => {
        off()
        offLog()
      })
      return startEventStream(event, stream)
    }),
  )
})
