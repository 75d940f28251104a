// A program's channel to the gateway for many invocations: one WebSocket (`GET /api/v1/channel`)
// that carries the invokes of one event-loop turn as one message and their answers back, as a Redis
// client pipelines its commands over one connection. The CLI's one-off commands keep using HTTP
// (runtime/cli/_client.ts); crossws's client and the protocol (zod with it) load only when a channel
// opens, so exporting this from the CLI's entry costs its start nothing (test/cluster/cli-start.test.ts).
// A gateway that serves no WebSocket there (the Nitro build, a proxy that passes no upgrades) gets
// the same invokes over HTTP.
import type { ChannelEndpoint, InvokeRequest, Operation } from '../protocol/index.ts'
import {
  GatewayClientError,
  createGatewayClient,
  resolveGatewayClientOptions,
  unreachable,
  type GatewayClient,
  type GatewayClientConfig,
} from './_client.ts'

export interface ChannelInvokeResult {
  /** 202: accepted (committed) and not finished; 200: finished within wait_seconds. */
  statusCode: 200 | 202
  operation: Operation & { warnings?: string[] }
}

export interface InvokeChannelOptions extends GatewayClientConfig {
  /** How long an answer may take beyond the request's wait_seconds. Default 30 s. */
  answerTimeoutMs?: number
}

type Socket = {
  send(text: string): void
  close(code?: number, reason?: string): void
  addEventListener(type: string, listener: (event: any) => void): void
}

/**
 * Opens on the first invoke and again on the first invoke after it closed. An invoke in flight when
 * the connection breaks fails with a GatewayClientError that has no status: like an HTTP request
 * without an answer, whether the gateway accepted it is unknown, so retry with an idempotency_key.
 */
export function createInvokeChannel(config: InvokeChannelOptions = {}, env: Record<string, string | undefined> = process.env) {
  const { url: base, token } = resolveGatewayClientOptions(config, env)
  const answerTimeoutMs = config.answerTimeoutMs ?? 30_000
  let opening: Promise<{ socket: Socket; rpc: ChannelEndpoint }> | null = null
  /** The protocol's "connection gone" error, once the protocol is loaded (at the first open). */
  let closedError: ((message: string) => Error) | null = null
  let closed = false
  /** Set once the gateway answered the upgrade with 404 or 426: it has no channel, HTTP it is. */
  let http: GatewayClient | null = null

  async function overHttp(name: string, request: InvokeRequest): Promise<ChannelInvokeResult> {
    const operation = await http!<ChannelInvokeResult['operation']>(`/api/v1/functions/${encodeURIComponent(name)}/invoke`, {
      method: 'POST',
      body: request,
    })
    // The route answers 200 exactly when the operation finished within wait_seconds.
    const finished = operation.status === 'completed' || operation.status === 'failed' || operation.status === 'cancelled'
    return { statusCode: finished ? 200 : 202, operation }
  }

  function open(): Promise<{ socket: Socket; rpc: ChannelEndpoint }> {
    return (opening ??= (async () => {
      const [{ default: WebSocket }, { channelClosedError, createChannelEndpoint }] = await Promise.all([
        import('crossws/websocket'),
        import('../protocol/index.ts'),
      ])
      closedError = channelClosedError
      const url = `${base.replace(/^http/, 'ws')}/api/v1/channel`
      // Both Node's WebSocket (undici) and ws take `{headers}` in place of the protocols.
      const socket = new (WebSocket as unknown as new (url: string, init: object) => Socket)(url, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        perMessageDeflate: false,
      })
      const rpc = createChannelEndpoint({
        send: (text) => socket.send(text),
        onRequest: () => {
          throw new Error('A client channel serves no requests')
        },
        onProtocolError: () => socket.close(1008, 'Not a channel message'),
        // As many invokes in flight as the caller makes: the gateway's queue is the bound.
        window: Number.MAX_SAFE_INTEGER,
      })
      await new Promise<void>((resolve, reject) => {
        let opened = false
        socket.addEventListener('open', () => {
          opened = true
          resolve()
        })
        socket.addEventListener('message', (event: { data: unknown }) =>
          rpc.receive(typeof event.data === 'string' ? event.data : Buffer.from(event.data as ArrayBuffer).toString('utf8')),
        )
        socket.addEventListener('error', (event: { message?: string; error?: Error }) => {
          if (!opened) reject(refusedOrUnreachable(base, event.error ?? new Error(event.message ?? 'WebSocket error')))
        })
        socket.addEventListener('close', () => {
          opening = null
          rpc.close(channelClosedError('The channel to the gateway closed'))
          if (!opened) reject(unreachable(base, new Error('the channel closed before it opened')))
        })
      })
      return { socket, rpc }
    })().catch((error) => {
      opening = null
      throw error
    }))
  }

  return {
    /** Invokes `name` (name, name@<version> or name@<alias>) as POST /api/v1/functions/:name/invoke would. */
    async invoke(name: string, request: InvokeRequest = {}): Promise<ChannelInvokeResult> {
      if (closed) throw new GatewayClientError('The invoke channel is closed')
      if (http) return overHttp(name, request)
      let rpc: ChannelEndpoint
      try {
        ;({ rpc } = await open())
      } catch (error) {
        const status = (error as GatewayClientError).statusCode
        if (status !== 404 && status !== 426) throw error
        http = createGatewayClient({ url: base, token })
        return overHttp(name, request)
      }
      let answer
      try {
        answer = await rpc.request<ChannelInvokeResult['operation']>(
          'invoke',
          { function: name, ...request },
          { timeoutMs: (request.wait_seconds ?? 0) * 1000 + answerTimeoutMs },
        )
      } catch (error) {
        throw unreachable(base, error)
      }
      if (answer.status === 200 || answer.status === 202) return { statusCode: answer.status, operation: answer.body! }
      const message = (answer.body as { message?: unknown } | null)?.message
      throw new GatewayClientError(
        `${typeof message === 'string' ? message : 'Invoke refused'} (HTTP ${answer.status})`,
        answer.status,
        answer.body,
      )
    },
    /** How invokes travel: over the WebSocket, or over HTTP to a gateway that has no channel. */
    get transport(): 'websocket' | 'http' {
      return http ? 'http' : 'websocket'
    },
    /** Closes the connection; invokes still in flight fail (their outcome unknown). */
    async close() {
      closed = true
      const current = opening
      opening = null
      if (!current) return
      const { socket, rpc } = await current.catch(() => ({ socket: null, rpc: null }))
      rpc?.close(closedError!('The invoke channel was closed'))
      socket?.close(1000, 'Client done')
    },
  }
}

export type InvokeChannel = ReturnType<typeof createInvokeChannel>

/** ws reports a refused upgrade as "Unexpected server response: 401": say what the gateway said. */
function refusedOrUnreachable(base: string, error: Error): GatewayClientError {
  const status = /Unexpected server response: (\d{3})/.exec(error.message)?.[1]
  if (status)
    return new GatewayClientError(
      `The gateway at ${base} refused the channel (HTTP ${status}${status === '401' || status === '403' ? ': check KTRDR_API_TOKEN' : ''})`,
      Number(status),
    )
  return unreachable(base, error)
}
