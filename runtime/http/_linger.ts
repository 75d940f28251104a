import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * How long a refused request's connection stays half-closed before it is dropped. Go's net/http
 * waits 500 ms (rstAvoidanceDelay) for the same reason: a close with unread bytes sends a reset,
 * and a reset that reaches the client before it has read the answer loses the answer.
 */
const LINGER_MS = 500

/**
 * Answered before its body was all read (an upload past the cap, a bad token on a large POST):
 * after the answer, stop reading, send FIN, and drop the connection a little later. Node's default
 * is to read and discard the rest of the body for as long as the client sends it, so a client
 * pushing gigabytes after a 413 keeps the gateway busy with them (RFC 9110 §15.5.14 lets a server
 * close here; Go closes past 256 KiB unread). Not reading pushes back on the client at once; the
 * FIN tells it the connection is done; the delay before the drop lets it read the answer first.
 */
export function closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete) return
  res.once('finish', () => {
    const socket = req.socket
    if (socket.destroyed) return
    socket.pause()
    socket.end()
    setTimeout(() => socket.destroy(), LINGER_MS).unref()
  })
}
