import type { createEventStream, H3Event } from 'h3'
import { getRequestHeader } from 'h3'
import { KtrdrError } from '../protocol/index.ts'

/**
 * The one request-body reader: the raw bytes with a byte cap, counted as they stream (a missing or
 * lying content-length cannot get past it). Oversized → 413.
 */
export async function readBodyBytes(
  event: H3Event,
  maxBytes: number,
  tooBig: () => KtrdrError = () => tooLarge(maxBytes),
): Promise<Buffer> {
  const req = event.node.req
  const declared = Number(getRequestHeader(event, 'content-length') ?? Number.NaN)
  if (Number.isFinite(declared) && declared > maxBytes) throw tooBig()
  // Plain 'data' events: a for-await over the request costs several promises per request.
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) {
        cleanup()
        req.resume()
        reject(tooBig())
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resolve(Buffer.concat(chunks, size))
    }
    const onError = (error: Error) => {
      cleanup()
      reject(error)
    }
    const cleanup = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
    }
    req.on('data', onData)
    req.once('end', onEnd)
    req.once('error', onError)
  })
}

/** Reads a JSON body through readBodyBytes. Empty body → {}. Oversized → 413, malformed → 400. */
export async function readJsonBody<T = Record<string, unknown>>(event: H3Event, maxBytes: number): Promise<T> {
  const body = await readBodyBytes(event, maxBytes)
  const size = body.length
  if (size === 0) return {} as T
  const text = body.toString('utf8')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    throw new KtrdrError({
      code: 'INVALID_JSON',
      message: `Request body is not valid JSON (${(cause as Error).message}): send a JSON object with content-type application/json`,
      cause,
    })
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new KtrdrError({ code: 'BAD_REQUEST', message: 'Request body must be a JSON object' })
  }
  checkJsonShape(value)
  return value as T
}

/** Bounds on what a JSON body may contain besides its size (every layer after this one may recurse or key on it). */
export const JSON_LIMITS = { depth: 64, keyLength: 1024 } as const

/**
 * Refuses what the byte cap lets through but later layers choke on: nesting deeper than
 * JSON_LIMITS.depth (a 20,000-deep array reached the group commit and came back as a 500),
 * keys longer than JSON_LIMITS.keyLength, and NUL characters in keys or strings. Iterative, so a
 * hostile body cannot exhaust the stack here either; one pass over what JSON.parse built.
 */
function checkJsonShape(root: object) {
  const refuse = (path: string, why: string) => {
    throw new KtrdrError({
      code: 'BAD_REQUEST',
      message: `Request body ${why} at ${path}`,
      details: { field: path },
    })
  }
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: root, path: '(body)', depth: 1 }]
  while (stack.length) {
    const { value, path, depth } = stack.pop()!
    if (typeof value === 'string') {
      if (value.includes('\u0000')) refuse(path, 'contains a NUL character')
      continue
    }
    if (value === null || typeof value !== 'object') continue
    if (depth > JSON_LIMITS.depth) refuse(path, `nests deeper than ${JSON_LIMITS.depth} levels`)
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) stack.push({ value: value[i], path: `${path}[${i}]`, depth: depth + 1 })
      continue
    }
    for (const key of Object.keys(value)) {
      const shown = key.length > 40 ? `${key.slice(0, 40)}…` : key
      if (key.length > JSON_LIMITS.keyLength)
        refuse(`${path}.${shown}`, `has a key of ${key.length} characters (at most ${JSON_LIMITS.keyLength})`)
      if (key.includes('\u0000')) refuse(`${path}.${JSON.stringify(shown)}`, 'has a key with a NUL character')
      stack.push({ value: (value as Record<string, unknown>)[key], path: `${path}.${shown}`, depth: depth + 1 })
    }
  }
}

function tooLarge(maxBytes: number) {
  return new KtrdrError({
    code: 'BODY_TOO_LARGE',
    message: `Request body exceeds ${maxBytes} bytes: put large inputs in storage (data/strategies mounts) and pass their keys`,
  })
}

/** One error shape for every route, gateway and hosts alike (runtime/http). */
export { sendErrorJson as sendGatewayError } from '../http/index.ts'

/** HEAD of an event stream: its headers and no stream (a stream would stay open until its operation ends). */
export function eventStreamHead(event: H3Event): string {
  event.node.res.setHeader('content-type', 'text/event-stream')
  event.node.res.setHeader('cache-control', 'no-cache')
  return ''
}

/**
 * Starts sending an event stream with its status and headers on the wire at once: node writes
 * them with the first body bytes, and a follow of an operation that has not logged yet has none,
 * so its client (fetch, an http.Agent) waited for headers until the first line came.
 */
export function startEventStream(event: H3Event, stream: ReturnType<typeof createEventStream>): Promise<void> {
  const sending = stream.send()
  // stream.send() sets the status and headers before its first await.
  if (!event.node.res.headersSent && !event.node.res.destroyed) event.node.res.flushHeaders()
  return sending
}
