import { createEventStream, defineEventHandler, getQuery, getRequestHeader, getRouterParam } from 'h3'
import type { Operation, OperationLogLine } from '../../protocol/index.ts'
import { eventStreamHead } from '../_http.ts'
import { intParam, listPage, pageParams } from '../_list.ts'
import { isTerminal } from '../_operations.ts'
import { defineGatewayRoutes } from '../_routes.ts'

/** SSE message of one stored line: its id lets a client resume with Last-Event-ID. */
export const logMessage = (line: OperationLogLine) => ({ id: String(line.id), event: 'log', data: JSON.stringify(line) })

/**
 * What a function wrote while it ran (its `ctx.logger`, stdout and stderr), per operation:
 * a page of lines, or with `?follow=1` every stored line and then each new one as SSE `log`
 * events, ending with the operation's final state (event named by its status, as on /events).
 */
export default defineGatewayRoutes((router, ctx) => {
  router.get(
    '/api/v1/operations/:id/logs',
    defineEventHandler((event) => {
      const id = getRouterParam(event, 'id', { decode: true })!
      const first = ctx.operations.require(id).op
      const q = getQuery(event)
      const resumeFrom = getRequestHeader(event, 'last-event-id')
      const after = intParam(q.after ?? resumeFrom, 'after', 0, 0, Number.MAX_SAFE_INTEGER) || undefined
      const attempt = intParam(q.attempt, 'attempt', 0, 1, 1_000_000) || undefined
      if (q.follow !== '1' && q.follow !== 'true') {
        const page = pageParams(event, { limit: 1000, maxLimit: 10_000 })
        const { items, total } = ctx.logs.list(id, { after, attempt, ...page })
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
      // Backlog and subscription in the same turn: nothing stored in between can be missed.
      for (const line of ctx.logs.list(id, { after, attempt, limit: Number.MAX_SAFE_INTEGER, offset: 0 }).items) send(line)
      let offLog = () => {}
      let offState = () => {}
      const finish = (op: Operation) => {
        offLog()
        offState()
        void stream.push({ event: op.status, data: JSON.stringify(op) })
        void stream.close()
      }
      if (isTerminal(first)) setImmediate(() => finish(first))
      else {
        offLog = ctx.hooks.on('operation:log', (operationId, lines) => {
          if (operationId === id) for (const line of lines) send(line)
        })
        offState = ctx.operations.watch(id, (kind, op) => {
          if (kind === 'finished') finish(op)
        })
      }
      stream.onClosed(() => {
        offLog()
        offState()
      })
      return stream.send()
    }),
  )
})
