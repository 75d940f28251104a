// The one client of the gateway's REST API that every CLI command (and `ktrdr demo`, and the
// function deploys of tests and benches) uses: where the gateway is, which token to send, and one
// message for every way a request can fail. node:http only: a command makes one or two requests
// and exits, so nothing heavier may load at the top (runtime/cli/_request.ts says why).
import type { IncomingMessage } from 'node:http'
import { gatewayRequest, GatewayStatusError, httpFor, type GatewayRequestOptions } from './_request.ts'

export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8000'

export interface GatewayClientConfig {
  /** Gateway base URL. Default: KTRDR_API_URL, else http://127.0.0.1:8000. */
  url?: string
  /** Bearer token of the API routes. Default: KTRDR_API_TOKEN; null sends none. */
  token?: string | null
}

export interface ResolvedGatewayClientOptions {
  /** Without a trailing slash. */
  url: string
  token: string | null
}

/** config > env > default; an empty string counts as unset (as `KTRDR_API_TOKEN=` does). */
export function resolveGatewayClientOptions(
  config: GatewayClientConfig = {},
  env: Record<string, string | undefined> = process.env,
): ResolvedGatewayClientOptions {
  const url = (config.url || env.KTRDR_API_URL || DEFAULT_GATEWAY_URL).replace(/\/+$/, '')
  let parsed: URL | null = null
  try {
    parsed = new URL(url)
  } catch {}
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:'))
    throw new GatewayClientError(`The gateway URL "${url}" is not an http:// or https:// URL (--url or KTRDR_API_URL)`)
  const token = config.token !== undefined ? config.token || null : env.KTRDR_API_TOKEN || null
  return { url, token }
}

/**
 * What a request to the gateway failed with, as one sentence a person can act on: the gateway's
 * own message and status, or where the gateway was looked for and why it could not be reached.
 */
export class GatewayClientError extends Error {
  constructor(
    message: string,
    /** The HTTP status when the gateway answered; undefined when it could not be reached. */
    readonly statusCode?: number,
    /** The gateway's error body (`{code, message, …}`) when it answered with one. */
    readonly data?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'GatewayClientError'
  }

  /** The gateway's error code (`OPERATION_NOT_FOUND`, …), when it answered with one. */
  get code(): string | undefined {
    const code = (this.data as { code?: unknown } | undefined)?.code
    return typeof code === 'string' ? code : undefined
  }
}

export interface GatewayStreamOptions {
  headers?: Record<string, string>
  signal?: AbortSignal
}

/** A function that makes JSON requests to the gateway, with what it was made from. */
export interface GatewayClient {
  <T = any>(path: string, options?: GatewayRequestOptions): Promise<T>
  /** Base URL, without a trailing slash. */
  readonly base: string
  readonly token: string | null
  /**
   * Opens a streaming GET (server-sent events): the response once its status is 2xx, else a
   * GatewayClientError like any other request's. The caller reads and ends the body.
   */
  stream(path: string, options?: GatewayStreamOptions): Promise<IncomingMessage>
}

/** The message when nothing answered at `base` (connection refused, DNS, reset before an answer). */
export function unreachable(base: string, error: unknown): GatewayClientError {
  const reason = (error as Error)?.message ?? String(error)
  return new GatewayClientError(
    `Cannot reach the gateway at ${base}: ${reason}. Start one with \`ktrdr up\` or set KTRDR_API_URL`,
    undefined,
    undefined,
    { cause: error },
  )
}

/** The message when the gateway answered with a non-2xx status. */
function refused(statusCode: number, data: unknown, fallback: string): GatewayClientError {
  const message = (data as { message?: unknown } | undefined)?.message
  const text = typeof message === 'string' && message ? message : typeof data === 'string' && data.trim() ? data.trim() : fallback
  return new GatewayClientError(`${text} (HTTP ${statusCode})`, statusCode, data)
}

export function createGatewayClient(
  config: GatewayClientConfig = {},
  env: Record<string, string | undefined> = process.env,
): GatewayClient {
  const { url: base, token } = resolveGatewayClientOptions(config, env)
  const auth = (): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {})

  const request = async <T = any>(path: string, options: GatewayRequestOptions = {}): Promise<T> => {
    try {
      return await gatewayRequest<T>(new URL(`${base}${path}`), { ...options, headers: { ...auth(), ...options.headers } })
    } catch (error) {
      if (error instanceof GatewayStatusError) throw refused(error.statusCode, error.data, error.message)
      throw unreachable(base, error)
    }
  }

  const stream = (path: string, options: GatewayStreamOptions = {}): Promise<IncomingMessage> => {
    const url = new URL(`${base}${path}`)
    const lib = httpFor(url)
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = lib.request(
        url,
        {
          method: 'GET',
          headers: { accept: 'text/event-stream', ...auth(), ...options.headers },
          agent: false,
          signal: options.signal,
        },
        (res) => {
          const status = res.statusCode ?? 0
          if (status >= 200 && status < 300) return resolve(res)
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('error', (error) => reject(unreachable(base, error)))
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            let data: unknown = text
            try {
              data = text ? JSON.parse(text) : undefined
            } catch {}
            reject(refused(status, data, `[GET] ${url.href}: ${status} ${res.statusMessage ?? ''}`.trim()))
          })
        },
      )
      req.on('error', (error) => reject(options.signal?.aborted ? error : unreachable(base, error)))
      req.end()
    })
  }

  return Object.assign(request, { base, token, stream }) as GatewayClient
}
