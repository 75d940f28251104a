import { createEventStream, defineEventHandler, getRequestHeader, getRouterParam } from 'h3'
import { z } from 'zod'
import type { Operation, OperationLogLine } from '../../protocol/index.ts'
import { eventStreamHead, startEventStream } from '../_http.ts'
import { intParam, listPage } from '../_list.ts'
import { pageQueryShape, readQuery } from '../_query.ts'
import { isTerminal } from '../_operations.ts'
import { defineGatewayRoutes } from '../_routes.ts'

/** SSE message of one stored line: its id lets a client resume with Last-Event-ID. */
export const logMessage = (line: OperationLogLine) => ({ id: String(line.id), event: 'log', data: JSON.stringify(line) })

const whole = (name: string, min: number) =>
  z.coerce
    .number({ error: `${name} must be an integer ≥ ${min}` })
    .int({ error: `${name} must be an integer ≥ ${min}` })
    .min(min, { error: `${name} must be an integer ≥ ${min}` })

/** Query of GET /api/v1/operations/:id/logs (validated with it; the OpenAPI document shows it). */
const logsQuery = z.object({
  follow: z.enum(['1', 'true', '0', 'false']).optional().describe('1: stream the stored lines, then each new one, as SSE `log` events'),
  after: whole('after', 0).optional().describe('Only lines with a larger id (a follow sends the line id as the event id)'),
  attempt: whole('attempt', 1).optional().describe('Only this attempt'),
  ...pageQueryShape({ limit: 1000, maxLimit: 10_000 }),
})

/**
 * What a function wrote while it ran (its `ctx.logger`, stdout and stderr), per operation:
 * a page of lines, or with `?follow=1` every stored line and then each new one as SSE `log`
 * events, ending with the operation's final state (event named by its status, as on /events).
 */
export default defineGatewayRoutes((router, ctx) => {
  router.get(
    '/api/v1/operations/:id/logs',
    {
      doc: {
        summary: 'What the operation’s function wrote (ctx.logger, stdout, stderr); ?follow=1 streams',
        tag: 'operations',
        query: logsQuery,
        response: 'list',
      },
    },
    defineEventHandler(async (event) => {
      const id = getRouterParam(event, 'id', { decode: true })!
      const first = (await ctx.operations.require(id)).op
      const q = readQuery(event, logsQuery)
      const resumeFrom = getRequestHeader(event, 'last-event-id')
      const after = (q.after ?? intParam(resumeFrom, 'Last-Event-ID', 0, 0, Number.MAX_SAFE_INTEGER)) || undefined
      const attempt = q.attempt
      if (q.follow !== '1' && q.follow !== 'true') {
        const page = { limit: q.limit, offset: q.offset }
        const { items, total } = await ctx.logs.list(id, { after, attempt, ...page })
        return listPage(items, total, page)
      }

      if (event.method === 'HEAD') return eventStreamHead(event)
      const stream = createEventStream(event)
      let last = after ?? 0
      const send = (line: OperationLogLine) => {
        if (line.id <= last || (attempt !== undefined && line.attempt !== attempt)) return
        last = line.id
        void stream.push(logMessage(line))
      }
      // Subscribed before the backlog is read, holding live lines and the end until it is sent:
      // nothing stored in between can be missed, and `send` drops what the backlog already carried.
      let held: OperationLogLine[] | null = []
      let ended: Operation | null = isTerminal(first) ? first : null
      let offLog = () => {}
      let offState = () => {}
      const finish = (op: Operation) => {
        offLog()
        offState()
        void stream.push({ event: op.status, data: JSON.stringify(op) })
        void stream.close()
      }
      if (!ended) {
        offLog = ctx.hooks.on('operation:log', (operationId, lines) => {
          if (operationId !== id) return
          if (held) held.push(...lines)
          else for (const line of lines) send(line)
        })
        offState = ctx.operations.watch(id, (kind, op) => {
          if (kind !== 'finished') return
          // The attempt's last lines were handed to the log writer before its terminal event was
          // applied: wait for them, then end.
          void ctx.logs.flushed().then(() => {
            if (held) ended = op
            else finish(op)
          })
        })
      }
      for (const line of (await ctx.logs.list(id, { after, attempt, limit: Number.MAX_SAFE_INTEGER, offset: 0 })).items) send(line)
      for (const line of held) send(line)
      held = null
      const end = ended as Operation | null
      if (end) setImmediate(() => finish(end))
      stream.onClosed(() => {
        offLog()
        offState()
      })
      return startEventStream(event, stream)
    }),
  )
})
