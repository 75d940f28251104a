import type { ConsolaInstance } from 'consola'
import WebSocket from 'crossws/websocket'
import {
  channelClosedError,
  channelPath,
  createChannelEndpoint,
  type ChannelAnswer,
  type ChannelEndpoint,
  type ChannelOp,
} from '../protocol/index.ts'

export interface GatewayChannelOptions {
  /** The gateway's base URL (http or https), asked at every connect: the active one may change. */
  gatewayUrl(): string
  workerId: string
  /** Authorization and host secret, asked at every connect (the secret arrives with registration). */
  headers(): Record<string, string>
  /** Serves the gateway's requests (dispatch, cancel) as the host's HTTP routes would. */
  onRequest(op: ChannelOp, body: unknown): ChannelAnswer | Promise<ChannelAnswer>
  /** The channel opened (pushes can go over it now). */
  onOpen?(): void
  logger: ConsolaInstance
  /** Reconnect backoff after a failure or a close: doubling from initialMs to maxMs. */
  retry?: { initialMs: number; maxMs: number }
}

/**
 * The host's side of its channel to the gateway: one WebSocket (crossws's client: Node's own
 * WebSocket where there is one, else the ws it bundles), opened after registration and reopened
 * with backoff whenever it closes. Everything it carries also works over HTTP, which the host uses
 * while the channel is down or when the gateway has none (an older gateway, the Nitro build).
 */
export function createGatewayChannel(options: GatewayChannelOptions) {
  const retry = options.retry ?? { initialMs: 100, maxMs: 5000 }
  let socket: WebSocket | null = null
  let rpc: ChannelEndpoint | null = null
  let delay = retry.initialMs
  let timer: NodeJS.Timeout | null = null
  let stopped = false
  let failures = 0

  function schedule() {
    if (stopped || timer) return
    timer = setTimeout(() => {
      timer = null
      connect()
    }, delay)
    timer.unref()
    delay = Math.min(retry.maxMs, delay * 2)
  }

  function connect() {
    if (stopped || socket) return
    if (timer) {
      clearTimeout(timer)
      timer = null
    }
    const url = options.gatewayUrl().replace(/^http/, 'ws') + channelPath(options.workerId)
    // Both Node's WebSocket (undici) and ws take `{headers}` in place of the protocols.
    const ws = new (WebSocket as unknown as new (url: string, init: object) => WebSocket)(url, {
      headers: options.headers(),
      perMessageDeflate: false,
    })
    socket = ws
    ws.addEventListener('open', () => {
      delay = retry.initialMs
      if (failures > 0) options.logger.info(`Channel to ${options.gatewayUrl()} open again`)
      failures = 0
      rpc = createChannelEndpoint({
        send: (text) => ws.send(text),
        onRequest: options.onRequest,
        onProtocolError: (why) => {
          options.logger.warn(`The gateway sent ${why} over the channel; reconnecting`)
          ws.close(1008, 'Not a channel message')
        },
      })
      options.onOpen?.()
    })
    ws.addEventListener('message', (event: MessageEvent) => {
      rpc?.receive(typeof event.data === 'string' ? event.data : Buffer.from(event.data as ArrayBuffer).toString('utf8'))
    })
    ws.addEventListener('close', () => {
      const was = rpc
      rpc = null
      socket = null
      if (!was) {
        failures++
        if (failures === 1) options.logger.debug(`No channel to ${options.gatewayUrl()} (HTTP meanwhile); retrying`)
      }
      was?.close(channelClosedError('The channel to the gateway closed'))
      schedule()
    })
    // A failed connect or a broken connection: 'close' follows and does the rest.
    ws.addEventListener('error', () => {})
  }

  return {
    /** Opens the channel now (after a registration), unless it is open or opening. */
    connect() {
      delay = retry.initialMs
      connect()
    },
    /** The channel is open: requests can go over it. */
    get open() {
      return rpc !== null && !rpc.closed
    },
    request<T = unknown>(op: ChannelOp, body: unknown, init: { timeoutMs: number }): Promise<ChannelAnswer<T>> {
      if (!rpc) return Promise.reject(channelClosedError('The channel to the gateway is not open'))
      return rpc.request<T>(op, body, init)
    },
    /** Closes it (failing its requests); it reopens, to whichever gateway is current by then. */
    reset() {
      socket?.close(1000, 'Moving to another gateway')
    },
    stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      socket?.close(1001, 'Host stopping')
      rpc?.close(channelClosedError('The host is stopping'))
    },
  }
}

export type GatewayChannel = ReturnType<typeof createGatewayChannel>
