import { setResponseStatus, type H3Event } from 'h3'
import { isKtrdrError } from '../protocol/index.ts'

/**
 * The one error body of the gateway and of hosts: `{statusCode, code, message, retryable, details}`,
 * from a KtrdrError (or h3's wrapper around one), else derived from the status.
 */
export function sendErrorJson(error: unknown, event: H3Event) {
  const h3 = error as { statusCode?: number; statusMessage?: string; message?: string; cause?: unknown; data?: unknown }
  const original = isKtrdrError(h3.cause) ? h3.cause : isKtrdrError(error) ? error : null
  const statusCode = original?.statusCode ?? h3.statusCode ?? 500
  // h3 wraps a thrown error that has a cause around that cause, losing the KtrdrError itself;
  // its code, retryable and details survive in `data` (KtrdrError.data).
  const data = h3.data as { code?: unknown; retryable?: unknown; details?: unknown } | undefined
  const body = original
    ? original.toJSON()
    : typeof data?.code === 'string' && typeof data.retryable === 'boolean'
      ? { statusCode, code: data.code, message: h3.message || data.code, retryable: data.retryable, details: data.details }
      : {
          statusCode,
          code:
            statusCode === 404
              ? 'NOT_FOUND'
              : statusCode === 405
                ? 'METHOD_NOT_ALLOWED'
                : statusCode >= 500
                  ? 'INTERNAL_ERROR'
                  : 'BAD_REQUEST',
          message: h3.message || h3.statusMessage || 'Error',
          retryable: statusCode >= 500,
          details: h3.data,
        }
  if (event.node.res.headersSent) {
    event.node.res.end()
    return
  }
  setResponseStatus(event, statusCode)
  event.node.res.setHeader('content-type', 'application/json')
  event.node.res.end(JSON.stringify({ ...body, statusCode }))
}
