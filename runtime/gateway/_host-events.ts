import type { Socket } from 'node:net'
import type { HostEventAck, HostEventBatch } from '../protocol/index.ts'
import { KtrdrError } from '../protocol/index.ts'
import type { GatewayRouteContext } from './_routes.ts'

type Context = Pick<GatewayRouteContext, 'workers' | 'health' | 'reconciler' | 'operations' | 'logs'>

const LOG_STREAMS = new Set(['logger', 'stdout', 'stderr'])

function checkLogLines(lines: unknown, field: string) {
  if (!Array.isArray(lines))
    throw new KtrdrError({ code: 'BAD_REQUEST', message: `${field} must be an array of log lines`, details: { field } })
  for (const [j, l] of (lines as Array<Record<string, unknown>>).entries()) {
    if (
      !l ||
      !Number.isInteger(l.n) ||
      typeof l.ts !== 'string' ||
      typeof l.level !== 'string' ||
      typeof l.message !== 'string' ||
      !LOG_STREAMS.has(l.stream as string)
    )
      throw new KtrdrError({
        code: 'BAD_REQUEST',
        message: `${field}[${j}] must have integer n, ts, level, message (strings) and stream logger|stdout|stderr`,
        details: { field: `${field}[${j}]` },
      })
  }
}

function operationIds(events: HostEventBatch['events']): Set<string> {
  const ids = new Set<string>()
  for (const e of events) ids.add(e.operation_id)
  return ids
}

/**
 * One batch of pushed host events, from `POST /api/v1/workers/:id/events` or the host channel:
 * checked, applied in seq order, and acknowledged only once what they changed is committed (the
 * host drops what we ack). Applied even from a host the registry does not know yet (the gateway
 * just restarted): its secret and the operations' persisted placement say whose reports count.
 */
export async function receiveHostEvents(ctx: Context, workerId: string, body: HostEventBatch, socket?: Socket): Promise<HostEventAck> {
  if (!body || !Array.isArray(body.events))
    throw new KtrdrError({ code: 'BAD_REQUEST', message: 'events must be an array of host events', details: { field: 'events' } })
  for (const [i, e] of body.events.entries()) {
    if (
      !e ||
      typeof e.operation_id !== 'string' ||
      !Number.isInteger(e.seq) ||
      !Number.isInteger(e.attempt) ||
      !['started', 'progress', 'completed', 'failed', 'cancelled', 'log'].includes(e.type)
    ) {
      throw new KtrdrError({
        code: 'BAD_REQUEST',
        message: `events[${i}] must have operation_id, integer seq and attempt, and type started|progress|completed|failed|cancelled|log`,
        details: { field: `events[${i}]` },
      })
    }
    if (e.type === 'log') checkLogLines(e.lines, `events[${i}].lines`)
  }
  const entry = ctx.workers.get(workerId)
  if (entry) ctx.health.trackConnection(entry, socket)
  else if (!ctx.reconciler.known(workerId)) ctx.workers.require(workerId)
  const acked = ctx.reconciler.applyEvents(workerId, entry, body.events)
  // The host drops acknowledged events: what they changed (their operations' states, log lines) is
  // committed first.
  await Promise.all([ctx.operations.flushed(operationIds(body.events)), ctx.logs.flushed()])
  return { acked_seq: acked }
}
