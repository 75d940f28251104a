import type { OhlcvSeries } from '../types.ts'
import { createSeries, sliceSeries } from './series.ts'
import { parseNumberBytes } from './_number.ts'
import { formatIsoSeconds, parseIsoBytes } from './_time.ts'
import { encodeOhlcvRows } from './_encode.ts'

/** A row that breaks the format or an invariant; `line` is 1-based in the source file. */
export interface DataIssue {
  line: number
  message: string
}

export interface ParsedOhlcv {
  series: OhlcvSeries
  issues: DataIssue[]
}

export interface ParseOhlcvOptions {
  symbol?: string
  timeframe?: string
  /** Stop collecting issues after this many (parsing continues). Default 100. */
  maxIssues?: number
}

const COLS = ['open', 'high', 'low', 'close', 'volume'] as const
const encoder = new TextEncoder()
const decoder = new TextDecoder('latin1')
const latin1 = decoder

/**
 * Parses KTRDR's CSV layout (docs/domain.md#bar-storage): first column the timestamp (header empty, `date` or
 * `timestamp`), then open, high, low, close, volume in any order by header name. Rows that
 * cannot be parsed are skipped and reported; invariant violations (order, duplicates,
 * high/low) are reported with line numbers and the row is kept so callers decide.
 */
export function parseOhlcvCsv(input: string | Uint8Array, options: ParseOhlcvOptions = {}): ParsedOhlcv {
  const buf = typeof input === 'string' ? encoder.encode(input) : input
  const maxIssues = options.maxIssues ?? 100
  const issues: DataIssue[] = []
  const report = (line: number, message: string) => {
    if (issues.length < maxIssues) issues.push({ line, message })
  }
  const n = buf.length
  let lines = 1
  for (let p = buf.indexOf(10); p !== -1; p = buf.indexOf(10, p + 1)) lines++
  const out = createSeries(options.symbol ?? '', options.timeframe ?? '', lines)

  // Column map: field index → target array index (0..4), -1 ignored.
  let map = [-1, 0, 1, 2, 3, 4]
  let pos = 0
  let lineNo = 0
  let row = 0
  let first = true
  let prevTime = -Infinity
  const targets = [out.open, out.high, out.low, out.close, out.volume]
  const seen = new Int8Array(5)

  while (pos < n) {
    let eol = buf.indexOf(10, pos)
    if (eol === -1) eol = n
    lineNo++
    let end = eol
    if (end > pos && buf[end - 1] === 13) end--
    if (end === pos) {
      pos = eol + 1
      continue
    }
    // First field: timestamp.
    let c = buf.indexOf(44, pos)
    if (c === -1 || c > end) c = end
    if (first) {
      first = false
      const t0 = parseIsoBytes(buf, trimStart(buf, pos, c), trimEnd(buf, pos, c))
      if (Number.isNaN(t0)) {
        const header = decoder
          .decode(buf.subarray(pos, end))
          .split(',')
          .map((h) => h.trim().replace(/^"|"$/g, '').toLowerCase())
        map = header.map((h) => (COLS as readonly string[]).indexOf(h))
        map[0] = -1
        const missing = COLS.filter((col) => !header.includes(col))
        if (missing.length) {
          report(
            lineNo,
            `header ${JSON.stringify(header.join(','))} lacks ${missing.join(', ')}: expected timestamp,open,high,low,close,volume`,
          )
          return { series: sliceSeries(out, 0, 0), issues }
        }
        pos = eol + 1
        continue
      }
    }
    const t = parseIsoBytes(buf, trimStart(buf, pos, c), trimEnd(buf, pos, c))
    if (Number.isNaN(t)) {
      report(lineNo, `unparseable timestamp ${JSON.stringify(decoder.decode(buf.subarray(pos, c)))}`)
      pos = eol + 1
      continue
    }
    seen.fill(0)
    let f = 1
    let s = c + 1
    let bad = ''
    while (s <= end && f < map.length) {
      let e = buf.indexOf(44, s)
      if (e === -1 || e > end) e = end
      const target = map[f]
      if (target >= 0) {
        const v = parseNumberBytes(buf, s, e)
        if (Number.isNaN(v)) {
          bad = `${COLS[target]} ${JSON.stringify(decoder.decode(buf.subarray(s, e)))} is not a number`
          break
        }
        targets[target][row] = v
        seen[target] = 1
      }
      f++
      s = e + 1
    }
    if (!bad && seen[0] + seen[1] + seen[2] + seen[3] + seen[4] !== 5) bad = `expected ${map.length} columns`
    if (bad) {
      report(lineNo, bad)
      pos = eol + 1
      continue
    }
    out.time[row] = t
    if (t <= prevTime)
      report(
        lineNo,
        t === prevTime ? `duplicate timestamp ${formatIsoSeconds(t)}` : `timestamp ${formatIsoSeconds(t)} is earlier than the previous row`,
      )
    else prevTime = t
    const o = out.open[row],
      h = out.high[row],
      l = out.low[row],
      cl = out.close[row]
    if (h < (o > cl ? o : cl)) report(lineNo, `high ${h} is below max(open, close) ${o > cl ? o : cl}`)
    if (l > (o < cl ? o : cl)) report(lineNo, `low ${l} is above min(open, close) ${o < cl ? o : cl}`)
    row++
    pos = eol + 1
  }
  return { series: sliceSeries(out, 0, row), issues }
}

function trimStart(buf: Uint8Array, s: number, e: number): number {
  while (s < e && (buf[s] === 32 || buf[s] === 34)) s++
  return s
}
function trimEnd(buf: Uint8Array, s: number, e: number): number {
  while (e > s && (buf[e - 1] === 32 || buf[e - 1] === 34)) e--
  return e
}

/** Writes KTRDR's layout: `timestamp,open,high,low,close,volume`, ISO seconds in UTC. */
export function formatOhlcvCsv(series: OhlcvSeries): string {
  const bytes = encodeOhlcvCsv(series)
  return latin1.decode(bytes)
}

/** {@link formatOhlcvCsv} as ASCII bytes, ready for `setItemRaw` without a string round-trip. */
export function encodeOhlcvCsv(series: OhlcvSeries): Uint8Array {
  return encodeOhlcvRows(series.time, [series.open, series.high, series.low, series.close, series.volume], series.length)
}

export interface OhlcvCsvSummary {
  /** Non-empty data lines (header excluded). */
  rows: number
  start: number
  end: number
}

/**
 * First and last timestamps and the row count without parsing the numbers: one newline scan
 * plus a parse of the first and last data lines (≈100× cheaper than a full parse on 1M rows).
 * Returns undefined when either end line does not parse, so callers fall back to
 * {@link parseOhlcvCsv}; unparseable rows in the middle are counted as rows.
 */
export function summarizeOhlcvCsv(buf: Uint8Array): OhlcvCsvSummary | undefined {
  const n = buf.length
  // Bounds of the first two and the last non-empty lines.
  const ends = [-1, -1, -1, -1]
  let lastS = -1,
    lastE = -1
  let lines = 0
  let pos = 0
  while (pos < n) {
    let eol = buf.indexOf(10, pos)
    if (eol === -1) eol = n
    let end = eol
    if (end > pos && buf[end - 1] === 13) end--
    if (end > pos) {
      if (lines < 2) {
        ends[lines * 2] = pos
        ends[lines * 2 + 1] = end
      }
      lastS = pos
      lastE = end
      lines++
    }
    pos = eol + 1
  }
  const empty = { rows: 0, start: Number.NaN, end: Number.NaN }
  if (lines === 0) return empty
  const first = parseOhlcvCsv(buf.subarray(ends[0], ends[1]), { maxIssues: 1 })
  if (first.series.length === 1) {
    const last = parseOhlcvCsv(buf.subarray(lastS, lastE), { maxIssues: 0 })
    return last.series.length === 1 ? { rows: lines, start: first.series.time[0], end: last.series.time[0] } : undefined
  }
  // First line is a header (or garbage: then the full parse decides).
  if (first.issues.length) return undefined
  if (lines === 1) return empty
  const header = buf.subarray(ends[0], ends[1])
  const withHeader = (s: number, e: number): number => {
    const line = buf.subarray(s, e)
    const text = new Uint8Array(header.length + 1 + line.length)
    text.set(header)
    text[header.length] = 10
    text.set(line, header.length + 1)
    const r = parseOhlcvCsv(text, { maxIssues: 0 })
    return r.series.length === 1 ? r.series.time[0] : Number.NaN
  }
  const start = withHeader(ends[2], ends[3])
  const end = withHeader(lastS, lastE)
  if (Number.isNaN(start) || Number.isNaN(end)) return undefined
  return { rows: lines - 1, start, end }
}

/** Invariant check of an in-memory series; `line` is the CSV line the row would be written on. */
export function validateSeries(series: OhlcvSeries, maxIssues = 100): DataIssue[] {
  const issues: DataIssue[] = []
  for (let i = 0; i < series.length && issues.length < maxIssues; i++) {
    const line = i + 2
    const t = series.time[i]
    if (!Number.isFinite(t)) issues.push({ line, message: 'timestamp is not finite' })
    else if (i > 0 && t <= series.time[i - 1])
      issues.push({
        line,
        message:
          t === series.time[i - 1]
            ? `duplicate timestamp ${formatIsoSeconds(t)}`
            : `timestamp ${formatIsoSeconds(t)} is earlier than the previous row`,
      })
    const o = series.open[i],
      h = series.high[i],
      l = series.low[i],
      c = series.close[i]
    if (![o, h, l, c].every(Number.isFinite)) issues.push({ line, message: 'open/high/low/close must be finite numbers' })
    else {
      if (h < Math.max(o, c)) issues.push({ line, message: `high ${h} is below max(open, close) ${Math.max(o, c)}` })
      if (l > Math.min(o, c)) issues.push({ line, message: `low ${l} is above min(open, close) ${Math.min(o, c)}` })
    }
  }
  return issues
}
