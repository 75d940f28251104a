export interface ApiInit {
  /** Default: POST when there is a body, else GET. */
  method?: string
  /** Sent as JSON. */
  body?: unknown
  /** Sent as it is (malformed JSON, an archive), with `contentType`. */
  raw?: string | Uint8Array
  /** Default application/json. */
  contentType?: string
  headers?: Record<string, string>
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string | null
}

export interface ApiResponse<T> {
  status: number
  /** The parsed JSON, the text when it is not JSON, null when empty. */
  body: T
  headers: Headers
}

/**
 * One request to a gateway (or a host) the way a client makes it, answering status and body
 * whatever the status, so tests can assert on refusals as well as on results.
 */
export async function api<T = any>(base: string, path: string, init: ApiInit = {}): Promise<ApiResponse<T>> {
  const call = () =>
    fetch(`${base}${path}`, {
      method: init.method ?? (init.body !== undefined || init.raw !== undefined ? 'POST' : 'GET'),
      headers: {
        'content-type': init.contentType ?? 'application/json',
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...init.headers,
      },
      body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
    })
  // A pooled keep-alive socket may belong to a server the test just killed or restarted on the
  // same port: undici reports that as UND_ERR_SOCKET before a byte of the new request is sent.
  const res = await call().catch((error: Error & { cause?: { code?: string } }) => {
    if (error.cause?.code === 'UND_ERR_SOCKET') return call()
    throw error
  })
  const text = await res.text()
  let body: unknown = null
  if (text) {
    try {
      body = JSON.parse(text)
    } catch {
      body = text
    }
  }
  return { status: res.status, body: body as T, headers: res.headers }
}

/** `api` bound to one base URL (and token). */
export function createApi(base: string, defaults: Pick<ApiInit, 'token' | 'headers'> = {}) {
  return <T = any>(path: string, init: ApiInit = {}) =>
    api<T>(base, path, { ...defaults, ...init, headers: { ...defaults.headers, ...init.headers } })
}
