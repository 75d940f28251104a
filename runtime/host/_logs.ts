import type { LogLine, LogStream } from '../protocol/index.ts'
import type { NewHostEvent } from './_events.ts'

/** A batch leaves at most this long after its first line (one event per ~quarter second, not per line). */
export const LOG_FLUSH_MS = 250
/** …or as soon as it has this many lines or bytes. */
export const LOG_BATCH_LINES = 200
export const LOG_BATCH_BYTES = 64 * 1024
/**
 * Unsent lines the outbox keeps per operation while the gateway is slow or unreachable; older ones
 * are dropped and counted. With lines cut at 4 KiB this bounds a chatty function's share of a
 * host's memory to ~8 MiB per operation.
 */
export const MAX_UNSENT_LOG_LINES = 2000
/**
 * …and at most this many bytes of text, so that one operation's merged batch always fits in the
 * gateway's JSON body cap (KTRDR_MAX_BODY_BYTES, 1 MiB by default) with room for JSON's escaping.
 */
export const MAX_UNSENT_LOG_BYTES = 256 * 1024
/** Longest line kept from stdout/stderr (same as the executor's cut for `ctx.logger`). */
export const MAX_OUTPUT_LINE_CHARS = 4096

/**
 * Collects one attempt's log lines and hands them to the outbox in batches. Lines are numbered
 * per attempt (`n`), so the gateway stores each once however often a batch is re-sent, and a
 * gap shows where lines were dropped. `close()` sends what is left; the invocation calls it
 * before its terminal event, so every line arrives before the operation is finished.
 */
export function createLogCollector(emit: (event: NewHostEvent) => void, base: { operation_id: string; attempt: number }) {
  let lines: LogLine[] = []
  let bytes = 0
  let n = 0
  let timer: NodeJS.Timeout | null = null
  let closed = false

  function flush() {
    if (timer) clearTimeout(timer)
    timer = null
    if (lines.length === 0) return
    emit({ type: 'log', ...base, at: new Date().toISOString(), lines })
    lines = []
    bytes = 0
  }

  return {
    add(stream: LogStream, level: string, message: string) {
      if (closed) return
      lines.push({ n: ++n, ts: new Date().toISOString(), level, stream, message })
      bytes += lineBytes(message)
      if (lines.length >= LOG_BATCH_LINES || bytes >= LOG_BATCH_BYTES) flush()
      else timer ??= setTimeout(flush, LOG_FLUSH_MS)
    },
    /**
     * Sends what is collected now. The invocation calls it before each progress event, so the lines a
     * function logged before reporting progress reach the gateway (and a follower of the operation)
     * before that progress: a training's epoch lines came after its "100% Done", up to 250 ms late.
     */
    flush,
    close() {
      flush()
      closed = true
    },
  }
}

export type LogCollector = ReturnType<typeof createLogCollector>

/** A line's weight in a JSON batch: its text plus the fields around it. */
export function lineBytes(message: string): number {
  return Buffer.byteLength(message) + 96
}

/** Splits a byte stream into lines (a chunk may end mid-line); `end()` returns the unterminated rest. */
export function createLineSplitter(onLine: (line: string) => void) {
  let rest = ''
  return {
    write(chunk: Buffer | string) {
      const text = rest + chunk.toString()
      const parts = text.split('\n')
      rest = parts.pop()!
      // A process printing without newlines must not grow this without bound.
      if (rest.length > MAX_OUTPUT_LINE_CHARS) {
        parts.push(rest)
        rest = ''
      }
      for (const part of parts) onLine(clip(part.endsWith('\r') ? part.slice(0, -1) : part))
    },
    end() {
      if (rest) onLine(clip(rest))
      rest = ''
    },
  }
}

function clip(text: string) {
  return text.length > MAX_OUTPUT_LINE_CHARS
    ? `${text.slice(0, MAX_OUTPUT_LINE_CHARS)}… [${text.length - MAX_OUTPUT_LINE_CHARS} more characters]`
    : text
}
