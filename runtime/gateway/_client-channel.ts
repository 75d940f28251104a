import { setMaxListeners } from 'node:events'
import type { Hooks, Peer } from 'crossws'
import type { ConsolaInstance } from 'consola'
import {
  KtrdrError,
  channelClosedError,
  createChannelEndpoint,
  type ChannelAnswer,
  type ChannelEndpoint,
  type ChannelOp,
} from '../protocol/index.ts'
import { checkInvokeRequest, invokeAnswerJson, type Invoker } from './_invoke.ts'

/** The path API clients open their channel at (API token, like the invoke route). */
export const CLIENT_CHANNEL_PATH = '/api/v1/channel'

interface ClientChannel {
  rpc: ChannelEndpoint
  /** Aborted when the socket goes away: ends the waits of its invokes that asked for wait_seconds. */
  gone: AbortController | null
}

/**
 * The gateway's side of API clients' channels (docs/architecture.md, "Client channel"): one
 * WebSocket per client that carries `invoke` requests, each the body of
 * POST /api/v1/functions/:name/invoke plus `function`, answered with that route's status and body
 * after the same commit. A program that makes many calls keeps one connection and sends the
 * invocations of one event-loop turn as one message, as a Redis client pipelines its commands;
 * HTTP stays the interface for everything else.
 */
export function createClientChannels(deps: { invoke: Invoker; maxWaitSeconds: number; logger: ConsolaInstance }) {
  const peers = new Set<Peer>()
  let closing = false

  async function serve(ch: ClientChannel, op: ChannelOp, body: unknown): Promise<ChannelAnswer> {
    if (op !== 'invoke') throw new KtrdrError({ code: 'BAD_REQUEST', message: `The client channel carries "invoke" requests, not "${op}"` })
    if (!body || typeof body !== 'object' || Array.isArray(body))
      throw new KtrdrError({ code: 'BAD_REQUEST', message: 'An invoke request is a JSON object: {"function": "<name>", "input": {…}, …}' })
    const { function: name, ...rest } = body as Record<string, unknown>
    if (typeof name !== 'string')
      throw new KtrdrError({
        code: 'BAD_REQUEST',
        message: 'function is required: the name to invoke (name, name@<version> or name@<alias>)',
        details: { field: 'function' },
      })
    const request = checkInvokeRequest(rest, deps.maxWaitSeconds)
    // As the HTTP route: only a caller that waits can go away mid-request.
    const signal = request.wait_seconds ? (ch.gone ??= goneController()).signal : undefined
    const result = await deps.invoke(name, request, { signal })
    return { status: result.statusCode, body: null, json: invokeAnswerJson(result) }
  }

  /**
   * Every invoke of the channel that waits listens on this one signal until its answer, so a client
   * running 16 calls at once has 16 listeners: no leak, and no MaxListenersExceededWarning in the
   * gateway's log at the 11th (as there was).
   */
  function goneController() {
    const controller = new AbortController()
    setMaxListeners(0, controller.signal)
    return controller
  }

  function gone(peer: Peer) {
    const ch = peer.context.channel as ClientChannel | undefined
    if (!ch) return
    peer.context.channel = undefined
    peers.delete(peer)
    ch.rpc.close(channelClosedError('The client channel closed'))
    ch.gone?.abort()
  }

  const hooks: Partial<Hooks> = {
    open(peer) {
      if (closing) return peer.close(1001, 'Gateway closing')
      const ch = { gone: null } as ClientChannel
      ch.rpc = createChannelEndpoint({
        send: (text) => peer.send(text),
        onRequest: (op, body) => serve(ch, op, body),
        onProtocolError: (why) => {
          deps.logger.debug(`A client sent ${why} over its channel; closing it`)
          peer.close(1008, 'Not a channel message')
        },
      })
      peer.context.channel = ch
      peers.add(peer)
    },
    message(peer, message) {
      ;(peer.context.channel as ClientChannel | undefined)?.rpc.receive(message.text())
    },
    close: (peer) => gone(peer),
    error: (peer) => gone(peer),
  }

  return {
    /** crossws hooks of the channel route (`router.ws`). */
    hooks,
    /** Open client channels. */
    connected: () => peers.size,
    close() {
      closing = true
      for (const peer of peers) peer.close(1001, 'Gateway closing')
    },
  }
}

export type ClientChannels = ReturnType<typeof createClientChannels>
