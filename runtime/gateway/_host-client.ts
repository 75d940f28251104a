import http from 'node:http'
import https from 'node:https'
import type { ChannelEndpoint, DispatchRequest, HostHealth } from '../protocol/index.ts'

export interface HostResponse<T = unknown> {
  status: number
  body: T | null
}

/** Connection failures that prove nothing listens at the endpoint (the host process is gone). */
export const DEFINITIVE_NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE'])

/** The open host channel of the host registered at an endpoint, if it has one (_host-channel.ts). */
export type HostChannelLookup = (endpoint: string) => ChannelEndpoint | undefined

export interface HostClient {
  dispatch(endpoint: string, body: DispatchRequest, timeoutMs: number): Promise<HostResponse<{ accepted?: boolean }>>
  cancel(endpoint: string, operationId: string, timeoutMs?: number): Promise<HostResponse>
  prefetch(
    endpoint: string,
    body: { name: string; version: number; sha256: string; bundle_key: string },
    timeoutMs?: number,
  ): Promise<HostResponse>
  health(endpoint: string, timeoutMs: number): Promise<HostResponse<HostHealth>>
  /** Where host channels are looked up (set once the channels exist). */
  useChannels(lookup: HostChannelLookup): void
  close(): void
}

/**
 * Gateway → host calls. Dispatch and cancel go over the host's channel when it has one open (one
 * WebSocket frame each way), else over keep-alive node:http (not fetch: the dispatch sits on the
 * invocation hot path and this saves a few hundred microseconds per call). Both answer
 * `{status, body}` as the host's HTTP routes would, and fail with a network error when the
 * connection breaks, so callers cannot tell which carried the call.
 */
export function createHostClient(options: { clusterToken: string | null }): HostClient {
  let channel: HostChannelLookup = () => undefined
  const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 64 }), https: new https.Agent({ keepAlive: true, maxSockets: 64 }) }

  function request<T>(method: string, url: string, body: unknown, timeoutMs: number): Promise<HostResponse<T>> {
    return new Promise((resolve, reject) => {
      const u = new URL(url)
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
      const headers: Record<string, string | number> = { accept: 'application/json' }
      if (payload) {
        headers['content-type'] = 'application/json'
        headers['content-length'] = payload.length
      }
      if (options.clusterToken) headers.authorization = `Bearer ${options.clusterToken}`
      const lib = u.protocol === 'https:' ? https : http
      const req = lib.request(u, { method, headers, agent: u.protocol === 'https:' ? agents.https : agents.http }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          clearTimeout(timer)
          const text = Buffer.concat(chunks).toString('utf8')
          let parsed: T | null = null
          try {
            parsed = text ? JSON.parse(text) : null
          } catch {
            parsed = null
          }
          resolve({ status: res.statusCode ?? 0, body: parsed })
        })
        res.on('error', (error) => {
          clearTimeout(timer)
          reject(error)
        })
      })
      const timer = setTimeout(
        () =>
          req.destroy(
            Object.assign(new Error(`Host ${u.host} did not answer ${method} ${u.pathname} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }),
          ),
        timeoutMs,
      )
      req.on('error', (error) => {
        clearTimeout(timer)
        reject(error)
      })
      req.end(payload)
    })
  }

  return {
    dispatch: (endpoint: string, body: DispatchRequest, timeoutMs: number): Promise<HostResponse<{ accepted?: boolean }>> =>
      channel(endpoint)?.request('dispatch', body, { timeoutMs }) ??
      request<{ accepted?: boolean }>('POST', `${endpoint}/invocations`, body, timeoutMs),
    cancel: (endpoint: string, operationId: string, timeoutMs = 5000): Promise<HostResponse> =>
      channel(endpoint)?.request('cancel', { operation_id: operationId }, { timeoutMs }) ??
      request('DELETE', `${endpoint}/invocations/${encodeURIComponent(operationId)}`, undefined, timeoutMs),
    /** Where host channels are looked up (set once the channels exist). */
    useChannels(lookup: HostChannelLookup) {
      channel = lookup
    },
    prefetch: (endpoint: string, body: { name: string; version: number; sha256: string; bundle_key: string }, timeoutMs = 5000) =>
      request('POST', `${endpoint}/bundles/prefetch`, body, timeoutMs),
    health: (endpoint: string, timeoutMs: number) => request<HostHealth>('GET', `${endpoint}/health`, undefined, timeoutMs),
    close() {
      agents.http.destroy()
      agents.https.destroy()
    },
  }
}
