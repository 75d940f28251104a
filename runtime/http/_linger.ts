import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/**
 * How long a refused request's connection stays half-closed before it is dropped. Go's net/http
 * waits 500 ms (rstAvoidanceDelay) for the same reason: a close with unread bytes sends a reset,
 * and a reset that reaches the client before it has read the answer loses the answer.
 */
const LINGER_MS = 500
/** Unread bodies up to this size are read and dropped, keeping the connection (Go: 256 KiB). */
const MAX_DRAIN_BYTES = 256 * 1024

/**
 * Answered before its body was all read (an upload past the cap, a bad token on a large POST):
 * node's default is to read and discard the rest for as long as the client sends it, so a client
 * pushing gigabytes after a 413 keeps the server busy with them. A short body with a declared
 * length is still drained (the connection stays usable); anything longer, or chunked, gets
 * `connection: close` (RFC 9110 §15.5.14: a client must not reuse it), and after the answer the
 * server stops reading, sends FIN and drops the connection a little later: not reading pushes
 * back on the client at once, the delay lets it read the answer before the reset.
 */
export function closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete || res.headersSent) return
  // No body (a GET: no length, not chunked) or a short one: nothing to stop.
  if (req.headers['transfer-encoding'] === undefined && Number(req.headers['content-length'] ?? 0) <= MAX_DRAIN_BYTES) return
  res.setHeader('connection', 'close')
  // With `connection: close` node ends the socket itself once the answer is written, through
  // destroySoon: replaced on this socket only by the lingering close above.
  const socket = req.socket as Socket
  socket.destroySoon = function lingeringClose(this: Socket) {
    this.pause()
    this.end()
    setTimeout(() => this.destroy(), LINGER_MS).unref()
  }
}
