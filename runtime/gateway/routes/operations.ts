import { createEventStream, defineEventHandler, getQuery, getRouterParam } from 'h3'
import type { Operation, OperationStatus } from '../../protocol/index.ts'
import { KtrdrError } from '../../protocol/index.ts'
import { readJsonBody } from '../_http.ts'
import { isTerminal } from '../_operations.ts'
import { defineGatewayRoutes } from '../_routes.ts'

const STATUSES: OperationStatus[] = ['pending', 'running', 'completed', 'failed', 'cancelled']

function intParam(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new KtrdrError({
      code: 'BAD_REQUEST',
      message: `${name} must be an integer between ${min} and ${max}`,
      details: { field: name },
    })
  }
  return n
}

export default defineGatewayRoutes((router, ctx) => {
  router.get(
    '/api/v1/operations',
    defineEventHandler(async (event) => {
      const q = getQuery(event)
      const activeOnly = q.active_only === 'true' || q.active_only === '1'
      const status =
        typeof q.status === 'string' && q.status ? q.status.toLowerCase().split(',') : activeOnly ? ['pending', 'running'] : undefined
      for (const s of status ?? []) {
        if (!STATUSES.includes(s as OperationStatus))
          throw new KtrdrError({
            code: 'BAD_REQUEST',
            message: `status must be one of ${STATUSES.join(', ')} (comma-separated for several)`,
            details: { field: 'status' },
          })
      }
      const limit = intParam(q.limit, 'limit', 100, 1, 1000)
      const offset = intParam(q.offset, 'offset', 0, 0, Number.MAX_SAFE_INTEGER)
      const { items, total } = await ctx.operations.list({
        status: status as OperationStatus[] | undefined,
        operation_type: typeof q.operation_type === 'string' && q.operation_type ? q.operation_type : undefined,
        function: typeof q.function === 'string' && q.function ? q.function : undefined,
        worker_id: typeof q.worker_id === 'string' && q.worker_id ? q.worker_id : undefined,
        limit,
        offset,
      })
      // The list envelope of docs/domain.md#rest-api: {success, data, total_count, active_count}.
      return { success: true, data: items, total_count: total, active_count: ctx.operations.counts().live, limit, offset }
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
      const workerId = s.op.worker_id
      const wasRunning = s.op.status === 'running'
      ctx.operations.cancel(s, reason)
      if (wasRunning) ctx.dispatcher.forwardCancel(workerId, s.op.operation_id)
      await ctx.operations.flushed()
      return { success: true, ...s.op }
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

  /** Server-Sent Events: the current state, every change, then the final state; pushed, not polled. */
  router.get(
    '/api/v1/operations/:id/events',
    defineEventHandler(async (event) => {
      const id = getRouterParam(event, 'id', { decode: true })!
      const first = (await ctx.operations.require(id)).op
      const stream = createEventStream(event)
      const send = (name: string, op: Operation) => {
        void stream.push({ event: name, data: JSON.stringify(op) })
      }
      let off = () => {}
      const finish = (op: Operation) => {
        send(op.status, op)
        off()
        void stream.close()
      }
      send('state', first)
      if (isTerminal(first))
        setImmediate(() => finish(first)) // close after the event is on the wire
      else {
        off = ctx.operations.watch(id, (kind, op) => {
          if (kind === 'finished') finish(op)
          else send(kind === 'requeued' ? 'requeued' : 'progress', op)
        })
      }
      stream.onClosed(() => off())
      return stream.send()
    }),
  )
})
