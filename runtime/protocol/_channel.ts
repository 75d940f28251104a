import { KtrdrError, isKtrdrError } from './errors.ts'

// The host channel: one WebSocket per host, opened by the host to the gateway
// (`GET /api/v1/workers/:id/channel`, cluster token, host secret). It carries the calls the
// gateway makes to the host (dispatch, cancel) one way and the host's event batches the other way,
// as requests and answers with HTTP semantics, so a call site can use it or plain HTTP alike.
// API clients' channels (`GET /api/v1/channel`) speak the same frames with one request, invoke.
// A message is a JSON array of frames: whatever one side produces in the same event-loop turn goes
// out as one WebSocket message.

/**
 * Operations over a channel. Host channel, gateway → host: dispatch, cancel; host → gateway: events.
 * Client channel (`GET /api/v1/channel`), client → gateway: invoke.
 */
export type ChannelOp = 'dispatch' | 'cancel' | 'events' | 'invoke'

export interface ChannelRequestFrame {
  t: 'req'
  id: number
  op: ChannelOp
  body: unknown
}
export interface ChannelResponseFrame {
  t: 'res'
  id: number
  /** HTTP status, as the same call over HTTP would answer. */
  status: number
  body: unknown
}
export type ChannelFrame = ChannelRequestFrame | ChannelResponseFrame

/** An answer: what the HTTP route would have answered (status and parsed JSON body). */
export interface ChannelAnswer<T = unknown> {
  status: number
  body: T | null
  /** Serving side only: the body already as JSON text, sent as it is in place of `body`. */
  json?: string
}

/** The path a host opens its channel at. */
export const channelPath = (workerId: string) => `/api/v1/workers/${encodeURIComponent(workerId)}/channel`

export interface ChannelEndpointOptions {
  /** Writes one WebSocket text message. */
  send(text: string): void
  /** Serves a request of the other side; a thrown KtrdrError answers with its status and JSON. */
  onRequest(op: ChannelOp, body: unknown): ChannelAnswer | Promise<ChannelAnswer>
  /** The other side sent something that is not a channel message: the connection should be closed. */
  onProtocolError(reason: string): void
  /**
   * Most requests of ours awaiting an answer (backpressure): further ones wait here, in order,
   * until an answer frees a place. Bounds what a slow or stuck peer makes either side hold.
   */
  window?: number
}

/** The error a request fails with when the channel goes away first: a network error to its caller. */
export function channelClosedError(message = 'The host channel closed'): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code: 'ECONNRESET' })
}

const OPS = new Set<string>(['dispatch', 'cancel', 'events', 'invoke'])

/**
 * One side of a channel: request/answer correlation, coalescing of outgoing frames per tick,
 * a window of outstanding requests, per-request timeouts. Transport-agnostic: the caller wires
 * `send`, feeds received messages to `receive` and calls `close` when the socket goes away.
 */
export function createChannelEndpoint(options: ChannelEndpointOptions) {
  const window = options.window ?? 64
  let nextId = 0
  let closedWith: Error | null = null
  const pending = new Map<number, { resolve: (a: ChannelAnswer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>()
  const waiting: Array<() => void> = []
  /** Places of the window taken: requests sent and not answered, or handed a place and about to send. */
  let active = 0
  /** Frames to send, an answer whose body is JSON text already as its frame's text. */
  let out: Array<ChannelFrame | string> = []
  let scheduled = false

  function flush() {
    scheduled = false
    if (closedWith || out.length === 0) return
    const frames = out
    out = []
    let text = '['
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i]!
      text += (i ? ',' : '') + (typeof frame === 'string' ? frame : JSON.stringify(frame))
    }
    options.send(text + ']')
  }
  // Frames go out at the end of the event-loop turn, not of the task: the dispatches after one
  // group commit, or the answers to events read from several sockets in one poll, each came from
  // a task of its own and went out as a message (a writev) each, ~40% of the gateway's socket
  // writes at c=16 (`--cpu-prof`). Per turn: 4.2 frames per message instead of 3.5 gateway → host.
  function enqueue(frame: ChannelFrame | string) {
    out.push(frame)
    if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
  }

  function send(op: ChannelOp, body: unknown, timeoutMs: number): Promise<ChannelAnswer> {
    return new Promise((resolve, reject) => {
      if (closedWith) return reject(closedWith)
      const id = ++nextId
      const timer = setTimeout(() => {
        pending.delete(id)
        release()
        reject(Object.assign(new Error(`No answer to ${op} over the channel within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }))
      }, timeoutMs)
      pending.set(id, { resolve, reject, timer })
      enqueue({ t: 'req', id, op, body })
    })
  }
  /** A request is answered (or gave up): its place goes to the oldest waiting request, or is free. */
  function release() {
    const next = waiting.shift()
    if (next) next()
    else active--
  }

  async function serve(frame: ChannelRequestFrame) {
    let answer: ChannelAnswer
    try {
      answer = await options.onRequest(frame.op, frame.body)
    } catch (error) {
      const e = isKtrdrError(error) ? error : new KtrdrError({ code: 'INTERNAL_ERROR', message: (error as Error).message, cause: error })
      answer = { status: e.statusCode, body: { ...e.toJSON(), statusCode: e.statusCode } }
    }
    if (closedWith) return
    if (answer.json !== undefined) enqueue(`{"t":"res","id":${frame.id},"status":${answer.status},"body":${answer.json}}`)
    else enqueue({ t: 'res', id: frame.id, status: answer.status, body: answer.body ?? null })
  }

  return {
    /** Sends a request and resolves with its answer; waits first while the window is full. */
    async request<T = unknown>(op: ChannelOp, body: unknown, { timeoutMs }: { timeoutMs: number }): Promise<ChannelAnswer<T>> {
      if (closedWith) throw closedWith
      if (active >= window) await new Promise<void>((resolve) => waiting.push(resolve))
      else active++
      return (await send(op, body, timeoutMs)) as ChannelAnswer<T>
    },
    /** One received WebSocket message. */
    receive(text: string) {
      if (closedWith) return
      let frames: unknown
      try {
        frames = JSON.parse(text)
      } catch {
        return options.onProtocolError('a message that is not JSON')
      }
      if (!Array.isArray(frames)) return options.onProtocolError('a message that is not an array of frames')
      for (const f of frames as Array<Partial<ChannelFrame>>) {
        if (!f || typeof f !== 'object' || !Number.isInteger(f.id)) return options.onProtocolError('a frame without an integer id')
        if (f.t === 'res') {
          if (!Number.isInteger(f.status)) return options.onProtocolError('an answer without a status')
          const p = pending.get(f.id!)
          if (!p) continue // timed out meanwhile
          pending.delete(f.id!)
          clearTimeout(p.timer)
          release()
          p.resolve({ status: f.status!, body: (f.body ?? null) as unknown })
        } else if (f.t === 'req') {
          if (typeof f.op !== 'string' || !OPS.has(f.op)) return options.onProtocolError(`an unknown request "${String(f.op)}"`)
          void serve(f as ChannelRequestFrame)
        } else return options.onProtocolError('a frame that is neither a request nor an answer')
      }
    },
    /** The connection is gone: every request still waiting fails with `error` (a network error). */
    close(error: Error = channelClosedError()) {
      if (closedWith) return
      closedWith = error
      for (const p of pending.values()) {
        clearTimeout(p.timer)
        p.reject(error)
      }
      pending.clear()
      // Waiting requests wake, find the channel closed and fail the same way.
      for (const w of waiting.splice(0)) w()
      out = []
    },
    get closed() {
      return closedWith !== null
    },
    /** Requests awaiting an answer (tests, backpressure). */
    inFlight: () => pending.size,
    /** Requests waiting for a place in the window. */
    queued: () => waiting.length,
  }
}

export type ChannelEndpoint = ReturnType<typeof createChannelEndpoint>
