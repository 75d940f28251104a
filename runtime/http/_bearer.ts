import { createHash, timingSafeEqual } from 'node:crypto'
import { getRequestHeader, type H3Event } from 'h3'
import { KtrdrError } from '../protocol/index.ts'

const digest = (value: string) => createHash('sha256').update(value).digest()

/**
 * Constant-time string compare. Both sides are hashed to 32 bytes first, so neither the content
 * nor the length of the expected secret shows in the timing (timingSafeEqual alone needs equal
 * lengths, and an early length check would leak the token's length).
 */
export function safeEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected))
}

/**
 * The token of an `Authorization: Bearer <token>` header. The scheme is case-insensitive
 * (RFC 7235 §2.1) and whitespace around the token is ignored; anything after the token makes the
 * header invalid rather than being dropped. null when absent or another scheme.
 */
export function bearerToken(header: string | undefined | null): string | null {
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header ?? '')
  return match ? match[1]! : null
}

/** Whether the request's bearer token is one of `accepted` (compared with every one, no early exit). */
export function hasBearer(event: H3Event, accepted: readonly string[]): boolean {
  const token = bearerToken(getRequestHeader(event, 'authorization'))
  if (token === null) return false
  let ok = false
  for (const expected of accepted) ok = safeEqual(token, expected) || ok
  return ok
}

/**
 * Throws 401 unless the request carries one of the configured tokens. No token configured means
 * the server runs open (loopback only; the gateway and host refuse other binds without tokens).
 */
export function requireBearer(event: H3Event, tokens: ReadonlyArray<string | null | undefined>, what: string): void {
  const accepted = tokens.filter((t): t is string => !!t)
  if (accepted.length === 0 || hasBearer(event, accepted)) return
  throw new KtrdrError({
    code: 'UNAUTHORIZED',
    message: `Missing or wrong bearer token: send "Authorization: Bearer <${what}>"`,
  })
}
