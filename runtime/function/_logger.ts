import { createConsola, type ConsolaInstance, type LogObject } from 'consola'
import { formatLogArgs } from '../protocol/index.ts'

/** Longest log line kept; longer lines are cut (a function printing a whole dataset fills no one's disk). */
export const MAX_LOG_LINE_CHARS = 4096

/** One line of a log message as text: consola's arguments formatted like console.log does, cut at MAX_LOG_LINE_CHARS. */
export function formatLogLine(args: unknown[]): string {
  return clipLogLine(formatLogArgs(args))
}

export function clipLogLine(text: string): string {
  return text.length > MAX_LOG_LINE_CHARS
    ? `${text.slice(0, MAX_LOG_LINE_CHARS)}… [${text.length - MAX_LOG_LINE_CHARS} more characters]`
    : text
}

/**
 * The `ctx.logger` of an invocation inside an executor: every message goes to `send` (over IPC to
 * the host, which stores it with the operation), not to stdout, so a line is never captured
 * twice. Level: at least info, whatever the host's own level, so an operation's log does not
 * depend on how verbose its host is; debug lines when the host runs at debug.
 */
export function createInvocationLogger(
  tag: string,
  level: number | undefined,
  send: (line: { level: string; message: string }) => void,
): ConsolaInstance {
  return createConsola({
    level: Math.max(3, level ?? 3),
    // Every line counts in an operation's log: no collapsing of repeats.
    throttle: 0,
    defaults: { tag },
    reporters: [
      {
        log(entry: LogObject) {
          const text = entry.message !== undefined ? [entry.message, ...entry.args] : entry.args
          send({ level: entry.type, message: formatLogLine(text) })
        },
      },
    ],
  })
}
