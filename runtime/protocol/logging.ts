import { formatWithOptions } from 'node:util'
import { createConsola, type ConsolaInstance, type ConsolaReporter, type LogObject } from 'consola'
import { KtrdrError } from './errors.ts'

/** How gateway and hosts write their own log: consola's text, or one JSON object a line (journald → Loki). */
export type LogFormat = 'text' | 'json'

/** LOG_LEVEL names → consola levels (a number is taken as it is). */
const LEVELS: Record<string, number> = { silent: -999, fatal: 0, error: 0, warn: 1, warning: 1, info: 3, debug: 4, trace: 5 }

/** LOG_LEVEL as a consola level; unset → info; an unknown word fails naming the variable. */
export function parseLogLevel(value: string | undefined, name = 'LOG_LEVEL'): number {
  if (value === undefined || value.trim() === '') return 3
  const level = LEVELS[value.trim().toLowerCase()] ?? (Number.isFinite(Number(value)) ? Number(value) : undefined)
  if (level === undefined)
    throw new KtrdrError({
      code: 'CONFIG_INVALID',
      message: `${name}="${value}" must be one of ${Object.keys(LEVELS).join(', ')} or a number`,
    })
  return level
}

/** KTRDR_LOG_FORMAT: `text` (default) or `json`; anything else fails naming the variable. */
export function resolveLogFormat(value: string | undefined): LogFormat {
  const v = (value ?? '').trim().toLowerCase()
  if (v === '' || v === 'text') return 'text'
  if (v === 'json') return 'json'
  throw new KtrdrError({
    code: 'CONFIG_INVALID',
    message: `KTRDR_LOG_FORMAT="${value}" must be text or json`,
  })
}

/** A log message's arguments as one line of text, like console.log formats them. */
export function formatLogArgs(args: unknown[]): string {
  return formatWithOptions({ colors: false, breakLength: Number.POSITIVE_INFINITY }, ...args)
}

const STANDARD = new Set(['date', 'args', 'type', 'level', 'tag', 'message', 'additional', 'badge', 'title'])

/**
 * One JSON object per line: `{time, level, tag, message, …fields}`. Fields are what a caller puts
 * beside `message` (`logger.info({ message, request_id })`); an Error argument adds `error` and `stack`.
 */
export function createJsonReporter(write: (line: string) => void = (line) => process.stdout.write(line)): ConsolaReporter {
  return {
    log(entry: LogObject) {
      const args = entry.message !== undefined ? [entry.message, ...entry.args] : entry.args
      const out: Record<string, unknown> = { time: entry.date.toISOString(), level: entry.type, tag: entry.tag || undefined }
      out.message = formatLogArgs(args)
      const error = args.find((a): a is Error => a instanceof Error)
      if (error) out.stack = error.stack
      for (const [key, value] of Object.entries(entry)) if (!STANDARD.has(key) && value !== undefined) out[key] = value
      write(`${JSON.stringify(out)}\n`)
    },
  }
}

/** A consola instance at `level` writing `format`. */
export function createKtrdrLogger({ tag, level, format }: { tag: string; level: number; format: LogFormat }): ConsolaInstance {
  const logger = createConsola({ level, ...(format === 'json' ? { reporters: [createJsonReporter()] } : {}) })
  return tag ? logger.withTag(tag) : logger
}
