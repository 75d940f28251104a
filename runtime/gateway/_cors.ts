import { getRequestHeader, type H3Event } from 'h3'

const ALLOW_HEADERS = 'authorization, content-type, x-request-id, last-event-id, x-ktrdr-source-commit'
const ALLOW_METHODS = 'GET, HEAD, POST, PUT, DELETE, OPTIONS'

/**
 * CORS for browser clients on other origins (KTRDR_CORS_ORIGINS: a comma list of origins, or `*`).
 * Off by default: the CLI and curl need none. A preflight is answered here, before auth, because
 * browsers never send credentials on it; the actual request still needs its token.
 * Returns true when it answered (a preflight).
 */
export function applyCors(event: H3Event, origins: readonly string[]): boolean {
  const origin = getRequestHeader(event, 'origin')
  if (!origin || origins.length === 0) return false
  const res = event.node.res
  res.setHeader('vary', 'Origin')
  if (!origins.includes('*') && !origins.includes(origin)) return false
  res.setHeader('access-control-allow-origin', origins.includes('*') ? '*' : origin)
  res.setHeader('access-control-expose-headers', 'x-request-id, allow')
  if (event.method !== 'OPTIONS' || !getRequestHeader(event, 'access-control-request-method')) return false
  res.setHeader('access-control-allow-methods', ALLOW_METHODS)
  res.setHeader('access-control-allow-headers', ALLOW_HEADERS)
  res.setHeader('access-control-max-age', '600')
  res.statusCode = 204
  res.end()
  return true
}
