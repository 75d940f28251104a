// Following the gateway's server-sent events: one parser, one reconnecting follower, and the
// operation follower that `ktrdr ops watch`, `ktrdr invoke --wait` and `ktrdr demo` share.
import { setTimeout as delay } from 'node:timers/promises'
import type { Operation, OperationStatus } from '../protocol/index.ts'
import { GatewayClientError, unreachable, type GatewayClient } from './_client.ts'

/** One server-sent event: its name (`message` when unnamed), its id (null when it has none) and data. */
export interface ServerSentEvent {
  event: string
  id: string | null
  data: string
  /** The reconnection delay the server asked for with this event (`retry:`), in ms. */
  retry?: number
}

/**
 * The events of a text/event-stream body as they arrive (the WHATWG parsing rules: CRLF, CR or LF
 * line ends, comments, a single leading space after the colon, blocks without data skipped; a
 * block that only sets `retry:` is passed on so that the follower learns the delay).
 */
export async function* parseEventStream(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder()
  let buffer = ''
  let event = ''
  let id: string | null = null
  let data: string[] = []
  let retry: number | undefined
  const flush = (): ServerSentEvent | null => {
    const out = data.length ? { event: event || 'message', id, data: data.join('\n'), ...(retry === undefined ? {} : { retry }) } : null
    const onlyRetry = !data.length && retry !== undefined ? { event: '', id, data: '', retry } : null
    event = ''
    data = []
    retry = undefined
    return out ?? onlyRetry
  }
  for await (const chunk of chunks) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true })
    let end: number
    while ((end = buffer.search(/\r\n|\r|\n/)) >= 0) {
      // A CR at the very end may be the first half of a CRLF split across chunks: wait for more.
      if (buffer[end] === '\r' && end === buffer.length - 1) break
      const line = buffer.slice(0, end)
      buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1))
      if (line === '') {
        const out = flush()
        if (out) yield out
        continue
      }
      const colon = line.indexOf(':')
      if (colon === 0) continue // a comment (keep-alive)
      const field = colon < 0 ? line : line.slice(0, colon)
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
      if (field === 'event') event = value
      else if (field === 'data') data.push(value)
      else if (field === 'id' && !value.includes('\0')) id = value
      else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value)
    }
  }
}

export interface FollowEventsOptions {
  signal?: AbortSignal
  /** True for the event after which the stream is complete; following ends there. Default: none, the server's close ends it. */
  done?: (event: ServerSentEvent) => boolean
  /**
   * How long to keep reconnecting after the stream broke before `done` (a gateway restart, a
   * proxy's idle timeout), counted from the break; each successful reconnection starts it anew.
   * Default 60 s: a gateway restart with a large queue to reload took ~5 s in docs/operations.md.
   */
  reconnectForMs?: number
  /** The first delay between reconnections, doubled up to `maxDelayMs` (a server's `retry:` overrides it). Default 100 ms. */
  delayMs?: number
  /** Default 2 s. */
  maxDelayMs?: number
  /** Called when the stream broke and the follower is about to reconnect (for a progress line). */
  onReconnect?: (info: { attempt: number; error: Error }) => void
}

/**
 * The events of a server-sent event stream of the gateway, across reconnections: when the stream
 * ends or breaks before `done`, the follower opens it again, with `Last-Event-ID` when the server
 * numbers its events, so a resource that supports it resumes after the last event seen (one that
 * does not starts over, e.g. /operations/:id/events with the current state). The first connection
 * failing is an error at once (the gateway is not there); a 4xx answer is one at any time
 * (the resource is not there, or the token is wrong). `signal` ends following with its reason.
 */
export async function* followEvents(
  client: GatewayClient,
  path: string,
  options: FollowEventsOptions = {},
): AsyncGenerator<ServerSentEvent> {
  const { signal, done, reconnectForMs = 60_000, delayMs = 100, maxDelayMs = 2000 } = options
  let lastEventId: string | null = null
  let serverDelay: number | undefined
  let brokeAt = 0
  let attempt = 0
  for (let connected = false; ;) {
    signal?.throwIfAborted()
    let error: Error
    try {
      const res = await client.stream(path, { signal, headers: lastEventId === null ? {} : { 'last-event-id': lastEventId } })
      connected = true
      brokeAt = 0
      attempt = 0
      try {
        for await (const event of parseEventStream(res)) {
          if (event.retry !== undefined) serverDelay = event.retry
          if (event.id !== null) lastEventId = event.id
          if (!event.event) continue // a block that only set retry:
          yield event
          if (done?.(event)) return
        }
      } finally {
        res.destroy()
      }
      if (!done) return
      error = new Error('the event stream ended before its last event')
    } catch (caught) {
      if (signal?.aborted) throw signal.reason
      if (caught instanceof GatewayClientError && caught.statusCode !== undefined && caught.statusCode < 500) throw caught
      if (!connected) throw caught instanceof GatewayClientError ? caught : unreachable(client.base, caught)
      error = caught as Error
    }
    brokeAt ||= Date.now()
    if (Date.now() - brokeAt > reconnectForMs)
      throw error instanceof GatewayClientError
        ? error
        : new GatewayClientError(
            `Lost the event stream ${path} at ${client.base} for ${Math.round(reconnectForMs / 1000)} s: ${error.message}`,
          )
    options.onReconnect?.({ attempt: ++attempt, error })
    // Waiting out a restarting server is a back-off, not a condition that could be awaited.
    await delay(serverDelay ?? Math.min(maxDelayMs, delayMs * 2 ** Math.min(attempt - 1, 10)), undefined, { signal })
  }
}

// Not TERMINAL_STATUSES from the protocol's entry: a value import would load all of it (zod, the
// archive reader) into every command that follows a stream.
const TERMINAL = new Set<OperationStatus>(['completed', 'failed', 'cancelled'])

export const isFinished = (op: Pick<Operation, 'status'>): boolean => TERMINAL.has(op.status)

export interface FollowOperationOptions extends Omit<FollowEventsOptions, 'done'> {
  /** Each state of the operation as it arrives: the current one first, then every change. */
  onState?: (op: Operation, event: string) => void
  /** Events of the stream that are not operation states (e.g. a function's log lines), as they come. */
  onOther?: (event: ServerSentEvent) => void
}

/**
 * Follows an operation over GET /api/v1/operations/:id/events until it finishes and returns its
 * final state (whatever the status: the caller decides what a failure means to it). Nothing polls.
 */
export async function followOperation(client: GatewayClient, id: string, options: FollowOperationOptions = {}): Promise<Operation> {
  const { onState, onOther, ...rest } = options
  let last: Operation | null = null
  // States are named state, progress, requeued or by the final status; anything else on the
  // stream (a function's log lines) goes to onOther.
  const isState = (e: ServerSentEvent) =>
    e.event === 'state' || e.event === 'progress' || e.event === 'requeued' || TERMINAL.has(e.event as OperationStatus)
  for await (const event of followEvents(client, `/api/v1/operations/${encodeURIComponent(id)}/events`, {
    ...rest,
    // Asked after the loop's body has seen the event, so `last` is this event's state.
    done: (e) => isState(e) && last !== null && isFinished(last),
  })) {
    if (!isState(event)) {
      onOther?.(event)
      continue
    }
    last = JSON.parse(event.data) as Operation
    onState?.(last, event.event)
  }
  if (!last || !isFinished(last)) throw new GatewayClientError(`The event stream of ${id} ended before the operation finished`)
  return last
}
