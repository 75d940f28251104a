import { createError, setResponseStatus, type H3Error, type H3Event } from 'h3'
import { KtrdrError, isKtrdrError } from '../protocol/index.ts'
import { closeAfterAnswer } from './_linger.ts'

/**
 * A KtrdrError as the H3Error h3 answers with: our status, the code as status text (a HEAD answer
 * has no body, so clients read it there) and `{code, retryable, details}` as data. Also keeps h3
 * from logging a 4xx as an unhandled crash.
 */
export function toH3Error(error: KtrdrError): H3Error {
  return createError({
    statusCode: error.statusCode,
    statusMessage: error.code,
    message: error.message,
    data: { code: error.code, retryable: error.retryable, details: error.details },
  })
}

/** The catalogued code of an HTTP error raised without one (by h3 itself, or a library). */
function codeForStatus(statusCode: number) {
  return statusCode === 404 ? 'NOT_FOUND' : statusCode === 405 ? 'METHOD_NOT_ALLOWED' : statusCode >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST'
}

/**
 * The one error body of the gateway and of hosts: `{statusCode, code, message, retryable, details}`,
 * from a KtrdrError (or h3's wrapper around one), else a catalogued code derived from the status.
 */
export function sendErrorJson(error: unknown, event: H3Event) {
  const h3 = error as { statusCode?: number; statusMessage?: string; message?: string; cause?: unknown; data?: unknown }
  const original = isKtrdrError(h3.cause) ? h3.cause : isKtrdrError(error) ? error : null
  const statusCode = original?.statusCode ?? h3.statusCode ?? 500
  // h3 wraps a thrown error that has a cause around that cause, losing the KtrdrError itself;
  // its code, retryable and details survive in `data` (KtrdrError.data).
  const data = h3.data as { code?: unknown; retryable?: unknown; details?: unknown } | undefined
  const relayed = typeof data?.code === 'string' && typeof data.retryable === 'boolean'
  const body = (
    original ??
    (relayed
      ? new KtrdrError(
          { code: data.code as string, message: h3.message || (data.code as string), details: data.details },
          { statusCode, retryable: data.retryable as boolean },
        )
      : new KtrdrError({ code: codeForStatus(statusCode), message: h3.message || h3.statusMessage || 'Error', details: h3.data }))
  ).toJSON()
  if (event.node.res.headersSent) {
    event.node.res.end()
    return
  }
  setResponseStatus(event, statusCode)
  event.node.res.setHeader('content-type', 'application/json')
  closeAfterAnswer(event.node.req, event.node.res)
  event.node.res.end(JSON.stringify({ ...body, statusCode }))
}
