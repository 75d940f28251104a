import http from 'node:http'
import https from 'node:https'

/** A non-2xx answer; `statusCode` as ofetch's FetchError has it, so callers test the same field. */
export class HttpStatusError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly data: unknown,
  ) {
    super(message)
  }
}

/**
 * JSON POSTs to the gateway over a keep-alive agent. Plain node:http rather than ofetch/undici
 * fetch: event pushes sit on every invocation's path to its answer, and fetch's Request/Headers/
 * AbortSignal machinery cost ~0.3 ms a call there (CPU profile of bench/gateway.bench.ts).
 */
export function createJsonPoster(baseUrl: string, headers: Record<string, string>) {
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`)
  const secure = base.protocol === 'https:'
  const lib = secure ? https : http
  // Idle sockets close on our side after 4 s (undici's default, which ofetch had), well before the
  // gateway's keep-alive timeout (≥ 15 s), so a push never lands on a socket the server is closing.
  const agent = new lib.Agent({ keepAlive: true, maxSockets: 4, timeout: 4000 })

  function post<T>(
    path: string,
    body: unknown,
    options: { timeoutMs: number; signal?: AbortSignal; headers?: Record<string, string> },
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (options.signal?.aborted) return reject(options.signal.reason)
      const payload = Buffer.from(JSON.stringify(body))
      const url = new URL(path.replace(/^\//, ''), base)
      const req = lib.request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            ...headers,
            ...options.headers,
            accept: 'application/json',
            'content-type': 'application/json',
            'content-length': payload.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('error', done)
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            let data: unknown = null
            try {
              data = text ? JSON.parse(text) : null
            } catch {
              data = text
            }
            const status = res.statusCode ?? 0
            if (status >= 200 && status < 300) done(undefined, data as T)
            else done(new HttpStatusError(status, `[POST] ${url.href}: ${status} ${res.statusMessage ?? ''}`.trim(), data))
          })
        },
      )
      const onAbort = () => req.destroy(options.signal!.reason instanceof Error ? options.signal!.reason : new Error('aborted'))
      const timer = setTimeout(
        () => req.destroy(Object.assign(new Error(`[POST] ${url.href}: no answer within ${options.timeoutMs} ms`), { code: 'ETIMEDOUT' })),
        options.timeoutMs,
      )
      options.signal?.addEventListener('abort', onAbort, { once: true })
      let settled = false
      function done(error?: Error, value?: T) {
        if (settled) return
        settled = true
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
        if (error) reject(error)
        else resolve(value as T)
      }
      req.on('error', done)
      req.end(payload)
    })
  }

  return { post, close: () => agent.destroy() }
}
