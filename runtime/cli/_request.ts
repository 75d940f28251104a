/**
 * node:http or node:https for `url`, loaded on first use: a start that sends nothing (`--help`,
 * a usage error) does not load them, and node:https brings TLS with it (~10 ms of a 200 ms goal).
 */
export function httpFor(url: URL): typeof import('node:http') | typeof import('node:https') {
  return url.protocol === 'https:' ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http')
}

export interface GatewayRequestOptions {
  method?: string
  /** Appended to the URL; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined | null>
  /** A string or bytes go as they are (say the content-type in `headers`); anything else as JSON. */
  body?: unknown
  headers?: Record<string, string>
}

/** A non-2xx answer: the status, and the body (parsed JSON, else text). */
export class GatewayStatusError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly data: unknown,
  ) {
    super(message)
  }
}

/**
 * One request to the gateway over node:http, its answer parsed as JSON (text when it is not).
 * Not ofetch or fetch: a CLI command makes one or two requests and exits, and loading undici and
 * ofetch's node-fetch-native cost ~100 ms of CPU per start on a loaded 2-core machine, against a
 * 200 ms goal for the whole of `ktrdr workers` (docs/decisions.md, "CLI start"). A failure to
 * connect rejects with the socket's error (no `statusCode`).
 */
export function gatewayRequest<T>(url: URL, options: GatewayRequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET'
  for (const [key, value] of Object.entries(options.query ?? {}))
    if (value !== undefined && value !== null) url.searchParams.set(key, String(value))
  const raw = typeof options.body === 'string' || options.body instanceof Uint8Array
  const payload =
    options.body === undefined
      ? undefined
      : raw
        ? Buffer.from(options.body as string | Uint8Array)
        : Buffer.from(JSON.stringify(options.body))
  const headers: Record<string, string | number> = { accept: 'application/json', ...options.headers }
  if (payload) {
    if (!raw) headers['content-type'] = 'application/json'
    headers['content-length'] = payload.length
  }
  const lib = httpFor(url)
  return new Promise<T>((resolve, reject) => {
    // agent: false, one connection that closes with the answer: nothing keeps the process alive after it.
    const req = lib.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let data: unknown = text
        try {
          data = text ? JSON.parse(text) : undefined
        } catch {}
        const status = res.statusCode ?? 0
        if (status >= 200 && status < 300) resolve(data as T)
        else reject(new GatewayStatusError(status, `[${method}] ${url.href}: ${status} ${res.statusMessage ?? ''}`.trim(), data))
      })
    })
    req.on('error', reject)
    req.end(payload)
  })
}
