import { STATUS_CODES, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { KtrdrError } from '../protocol/index.ts'

/** What node's parser (llhttp) and its request timer report, as one of our codes. */
function errorOf(error: NodeJS.ErrnoException & { reason?: string; bytesParsed?: number }): KtrdrError {
  const parserCode = error.code ?? 'UNKNOWN'
  const why = error.reason || error.message
  switch (parserCode) {
    case 'HPE_HEADER_OVERFLOW':
      return new KtrdrError({
        code: 'REQUEST_HEADERS_TOO_LARGE',
        message: `Request headers are too large (${why})`,
        details: { parser_code: parserCode },
      })
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new KtrdrError({
        code: 'BODY_TOO_LARGE',
        message: `Chunk extensions of the request body are too large (${why})`,
        details: { parser_code: parserCode },
      })
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new KtrdrError({
        code: 'REQUEST_TIMEOUT',
        message: 'The request did not arrive in full in time',
        details: { parser_code: parserCode },
      })
    default:
      return new KtrdrError({
        code: 'MALFORMED_HTTP',
        message: `Malformed HTTP request: ${why} (${parserCode}, after ${error.bytesParsed ?? 0} bytes of this request)`,
        details: { parser_code: parserCode, bytes_parsed: error.bytesParsed ?? null },
      })
  }
}

/**
 * A node:http server's 'clientError' listener: the bytes of a request that node's parser refused
 * are answered with our JSON error (node's own answer is a bare "400 Bad Request" with no body,
 * which leaves the client guessing), then the connection closes since the parser cannot find the
 * next request's start. Not for a reset, and not inside a response whose headers went out (the
 * bytes would land in its body: the connection just closes, as node's default does). A response
 * still being prepared for an earlier request on the connection (a pipelining client) is sent
 * first: node's default wrote its 400 in that response's place, so the good request read the bad
 * one's answer.
 */
export function answerClientError(error: Error, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage
  if ((error as NodeJS.ErrnoException).code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy()
    return
  }
  const answer = () => {
    if (!socket.writable) return void socket.destroy()
    const ktrdr = errorOf(error)
    const body = JSON.stringify(ktrdr.toJSON())
    const head = [
      `HTTP/1.1 ${ktrdr.statusCode} ${STATUS_CODES[ktrdr.statusCode] ?? ktrdr.code}`,
      'content-type: application/json',
      `content-length: ${Buffer.byteLength(body)}`,
      'connection: close',
    ]
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy())
  }
  if (!inFlight) return answer()
  inFlight.once('finish', answer)
  inFlight.once('close', () => {
    if (!inFlight.writableFinished) socket.destroy()
  })
}
