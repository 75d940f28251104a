import { randomUUID } from 'node:crypto'
import { getRequestHeader, type H3Event } from 'h3'

export const REQUEST_ID_HEADER = 'x-request-id'

/** What a caller's id may look like to be kept: a UUID, a trace id, a short token; no spaces, quotes or control characters. */
const SANE = /^[\w.:@/+=-]{1,128}$/

/**
 * The request's id: the caller's `X-Request-Id` when it looks like one, else a new UUID. Set on the
 * response (errors included) and kept in `event.context.requestId` for log lines.
 */
export function assignRequestId(event: H3Event): string {
  const given = getRequestHeader(event, REQUEST_ID_HEADER)
  const id = given && SANE.test(given) ? given : randomUUID()
  event.context.requestId = id
  event.node.res.setHeader(REQUEST_ID_HEADER, id)
  return id
}

/** The id assignRequestId gave this request (empty before it ran). */
export function requestIdOf(event: H3Event): string {
  return (event.context.requestId as string | undefined) ?? ''
}
