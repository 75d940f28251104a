import { parse, CsvError } from 'csv-parse/sync'
import { TIMEFRAMES, type OhlcvSeries } from '../types.ts'
import { KtrdrError } from '../_errors.ts'
import type { DataIssue } from './csv.ts'
import { sortedUnique } from './merge.ts'
import { createSeries, sliceSeries } from './series.ts'
import { assertSymbol, assertTimeframe, timeframeMs } from './_symbols.ts'
import { daysFromCivil, parseIsoBytes } from './_time.ts'

export type VendorLayout = 'ktrdr' | 'yahoo' | 'metatrader' | 'dukascopy' | 'epoch'

export interface ImportResult {
  series: OhlcvSeries
  layout: VendorLayout
  /** Rows that could not be read or break an invariant, with 1-based source lines. */
  issues: DataIssue[]
  rowsRead: number
  duplicatesDropped: number
}

interface Detected {
  layout: VendorLayout
  delimiter: string
  header: boolean
  /** Column index of each field; time2 is MetaTrader's separate time column. */
  cols: { time: number; time2: number; open: number; high: number; low: number; close: number; volume: number }
}

const SUPPORTED =
  'KTRDR (timestamp,open,high,low,close,volume), Yahoo (Date,Open,High,Low,Close,Adj Close,Volume), MetaTrader (2024.01.02,13:00,O,H,L,C,V), Dukascopy (Gmt time dd.mm.yyyy HH:MM:SS.000,…), epoch seconds/milliseconds'

const clean = (s: string) =>
  s
    .trim()
    .replace(/^["'<]+|[>"']+$/g, '')
    .trim()
    .toLowerCase()

function fail(message: string): never {
  throw new KtrdrError({
    code: 'DATA_UNKNOWN_LAYOUT',
    message: `${message}. Supported layouts: ${SUPPORTED}`,
  })
}

/** Recognises the layout from the header (or the first row when there is none). */
export function detectVendorLayout(text: string): Detected {
  const lines = text.split(/\r?\n/, 3).filter((l) => l.trim() !== '')
  if (!lines.length) fail('The file is empty')
  const first = lines[0].replace(/^\uFEFF/, '')
  const delimiter = first.includes('\t') ? '\t' : first.includes(';') && !first.includes(',') ? ';' : ','
  const [firstFields = [], secondFields = []] = fields(lines.slice(0, 2).join('\n'), delimiter)
  const tokens = firstFields.map(clean)
  const looksLikeData = /^\d/.test(tokens[0])
  if (!looksLikeData) {
    const at = (...names: string[]) => tokens.findIndex((t) => names.includes(t))
    const ohlc = {
      open: at('open', 'o'),
      high: at('high', 'h'),
      low: at('low', 'l'),
      close: at('close', 'c'),
      volume: at('volume', 'vol', 'tickvol', 'tick_volume', 'real_volume', 'v'),
    }
    if (ohlc.open < 0 || ohlc.high < 0 || ohlc.low < 0 || ohlc.close < 0) fail(`Header "${first}" lacks open/high/low/close columns`)
    const dateIdx = at('date', 'day')
    const timeIdx = at('time')
    if (tokens.includes('gmt time') || tokens.includes('local time')) {
      return { layout: 'dukascopy', delimiter, header: true, cols: { time: at('gmt time', 'local time'), time2: -1, ...ohlc } }
    }
    if (dateIdx >= 0 && timeIdx >= 0)
      return { layout: 'metatrader', delimiter, header: true, cols: { time: dateIdx, time2: timeIdx, ...ohlc } }
    const tIdx = dateIdx >= 0 ? dateIdx : Math.max(0, at('timestamp', 'datetime', 'time', 'date_time', 'unix', ''))
    const sample = secondFields[tIdx]?.trim() ?? ''
    if (/^\d{9,13}(\.\d+)?$/.test(sample)) return { layout: 'epoch', delimiter, header: true, cols: { time: tIdx, time2: -1, ...ohlc } }
    if (/^\d{2}\.\d{2}\.\d{4}/.test(sample))
      return { layout: 'dukascopy', delimiter, header: true, cols: { time: tIdx, time2: -1, ...ohlc } }
    if (/^\d{4}\.\d{2}\.\d{2}/.test(sample))
      return { layout: 'metatrader', delimiter, header: true, cols: { time: tIdx, time2: -1, ...ohlc } }
    if (!/^\d{4}-\d{2}-\d{2}/.test(sample)) fail(`Cannot read the time column "${tokens[tIdx]}" (sample ${JSON.stringify(sample)})`)
    return { layout: tokens.includes('adj close') ? 'yahoo' : 'ktrdr', delimiter, header: true, cols: { time: tIdx, time2: -1, ...ohlc } }
  }
  // No header: positional.
  const t0 = tokens[0],
    t1 = tokens[1] ?? ''
  if (/^\d{4}\.\d{2}\.\d{2}$/.test(t0) && /^\d{2}:\d{2}/.test(t1))
    return { layout: 'metatrader', delimiter, header: false, cols: { time: 0, time2: 1, open: 2, high: 3, low: 4, close: 5, volume: 6 } }
  const positional = { time: 0, time2: -1, open: 1, high: 2, low: 3, close: 4, volume: 5 }
  if (/^\d{9,13}(\.\d+)?$/.test(t0)) return { layout: 'epoch', delimiter, header: false, cols: positional }
  if (/^\d{2}\.\d{2}\.\d{4}/.test(t0)) return { layout: 'dukascopy', delimiter, header: false, cols: positional }
  if (/^\d{4}-\d{2}-\d{2}/.test(t0)) return { layout: 'ktrdr', delimiter, header: false, cols: positional }
  return fail(`Cannot recognise the first row "${first}"`)
}

const enc = new TextEncoder()

/** Rows of fields, quotes and embedded delimiters handled by a real CSV parser (csv-parse). */
function fields(text: string, delimiter: string): string[][] {
  try {
    return parse(text, { delimiter, bom: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true, trim: true })
  } catch (error) {
    return fail(`Cannot read the first rows: ${(error as Error).message}`)
  }
}

/** `"1,200.5"` (a quoted field with thousands separators) → 1200.5; a decimal comma is not guessed at. */
function toNumber(field: string | undefined): number {
  if (field === undefined || field === '' || /^null$/i.test(field)) return Number.NaN
  return Number(/^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$/.test(field) ? field.replace(/,/g, '') : field)
}

const human = (ms: number) =>
  ms % 604_800_000 === 0
    ? `${ms / 604_800_000} week(s)`
    : ms % 86_400_000 === 0
      ? `${ms / 86_400_000} day(s)`
      : ms % 3_600_000 === 0
        ? `${ms / 3_600_000} hour(s)`
        : `${ms / 60_000} minute(s)`

/**
 * Refuses bars whose spacing is not the timeframe they are imported as (daily bars imported as 1h
 * used to be stored, and every indicator period then meant 24× what the strategy said). The most
 * common gap between consecutive bars must be the timeframe; weekends and holidays only make some
 * gaps longer. A gap shorter than the timeframe means finer bars.
 */
export function checkBarSpacing(series: OhlcvSeries, timeframe: string): void {
  if (series.length < 3) return
  const want = timeframeMs(timeframe)
  const counts = new Map<number, number>()
  let shortest = Infinity
  for (let i = 1; i < series.length; i++) {
    const d = series.time[i] - series.time[i - 1]
    counts.set(d, (counts.get(d) ?? 0) + 1)
    if (d < shortest) shortest = d
  }
  let mode = 0
  let modeCount = 0
  for (const [d, c] of counts) if (c > modeCount || (c === modeCount && d < mode)) [mode, modeCount] = [d, c]
  if (mode === want && shortest >= want) return
  const gap = shortest < want && mode === want ? shortest : mode
  const match = TIMEFRAMES.find((tf) => timeframeMs(tf) === gap)
  throw new KtrdrError({
    code: 'DATA_TIMEFRAME_MISMATCH',
    message: `These bars are ${human(gap)} apart (${gap === mode ? `the most common gap, ${modeCount} of ${series.length - 1}` : 'the shortest gap'}), not ${timeframe} (${human(want)}): ${match ? `import them with --timeframe ${match}` : `their spacing is none of ${TIMEFRAMES.join(', ')}`}; nothing was written`,
    details: { timeframe, gap_ms: gap, expected_ms: want, suggested_timeframe: match ?? null },
  })
}

function parseTime(layout: VendorLayout, a: string, b: string | undefined): number {
  switch (layout) {
    case 'epoch': {
      const v = Number(a)
      return !Number.isFinite(v) ? Number.NaN : v < 1e11 ? Math.round(v * 1000) : Math.round(v)
    }
    case 'metatrader': {
      // 2024.01.02 [13:00[:00]] — MetaTrader exports in the server's zone; taken as UTC.
      const m = /^(\d{4})\.(\d{2})\.(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(a)
      const t = b === undefined ? undefined : /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(b)
      if (!m || (b !== undefined && !t)) return Number.NaN
      const [hh, mm, ss] = t ? [t[1], t[2], t[3]] : [m[4], m[5], m[6]]
      return daysFromCivil(+m[1], +m[2], +m[3]) * 86_400_000 + +(hh ?? 0) * 3_600_000 + +(mm ?? 0) * 60_000 + +(ss ?? 0) * 1000
    }
    case 'dukascopy': {
      const m = /^(\d{2})\.(\d{2})\.(\d{4})(?: (\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?(?: ?(?:GMT|UTC)?([+-]\d{2}:?\d{2})?)?$/.exec(
        a,
      )
      if (!m) return Number.NaN
      let ms =
        daysFromCivil(+m[3], +m[2], +m[1]) * 86_400_000 +
        +(m[4] ?? 0) * 3_600_000 +
        +(m[5] ?? 0) * 60_000 +
        +(m[6] ?? 0) * 1000 +
        +(m[7] ?? '0').padEnd(3, '0')
      if (m[8]) {
        const off = m[8].replace(':', '')
        const mins = +off.slice(1, 3) * 60 + +off.slice(3, 5)
        ms += off[0] === '+' ? -mins * 60_000 : mins * 60_000
      }
      return ms
    }
    default: {
      const bytes = enc.encode(a)
      return parseIsoBytes(bytes, 0, bytes.length)
    }
  }
}

/**
 * Reads a vendor CSV into a KTRDR series: layout detected from the header, rows that cannot be
 * read reported by line and skipped, duplicates dropped (last wins), rows sorted. Invariant
 * violations (high/low) are reported as issues; the caller decides whether to save.
 */
export function importVendorCsv(text: string, options: { symbol: string; timeframe: string }): ImportResult {
  const symbol = assertSymbol(options.symbol)
  const timeframe = assertTimeframe(options.timeframe)
  const det = detectVendorLayout(text)
  let rows: Array<{ record: string[]; info: { lines: number } }>
  try {
    rows = parse(text, {
      delimiter: det.delimiter,
      bom: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      trim: true,
      info: true,
      from_line: det.header ? 2 : 1,
    }) as unknown as typeof rows
  } catch (error) {
    const line = error instanceof CsvError ? (error as CsvError & { lines?: number }).lines : undefined
    throw new KtrdrError({
      code: 'DATA_INVALID',
      message: `Cannot read the CSV${line ? ` at line ${line}` : ''}: ${(error as Error).message}`,
      cause: error,
    })
  }
  const out = createSeries(symbol, timeframe, rows.length)
  const issues: DataIssue[] = []
  const { cols } = det
  let n = 0
  for (const { record: f, info } of rows) {
    const lineNo = info.lines
    const t = parseTime(det.layout, f[cols.time] ?? '', cols.time2 >= 0 ? (f[cols.time2] ?? '') : undefined)
    if (Number.isNaN(t)) {
      if (issues.length < 100) issues.push({ line: lineNo, message: `unreadable time ${JSON.stringify(f[cols.time])}` })
      continue
    }
    const num = (k: number) => (k < 0 ? 0 : toNumber(f[k]))
    const o = num(cols.open),
      h = num(cols.high),
      l = num(cols.low),
      c = num(cols.close),
      v = num(cols.volume)
    if (![o, h, l, c, v].every(Number.isFinite)) {
      if (issues.length < 100) issues.push({ line: lineNo, message: 'open/high/low/close/volume must be numbers' })
      continue
    }
    if (h < Math.max(o, c) && issues.length < 100)
      issues.push({ line: lineNo, message: `high ${h} is below max(open, close) ${Math.max(o, c)}` })
    if (l > Math.min(o, c) && issues.length < 100)
      issues.push({ line: lineNo, message: `low ${l} is above min(open, close) ${Math.min(o, c)}` })
    out.time[n] = t
    out.open[n] = o
    out.high[n] = h
    out.low[n] = l
    out.close[n] = c
    out.volume[n] = v
    n++
  }
  const sorted = sortedUnique(sliceSeries(out, 0, n))
  checkBarSpacing(sorted, timeframe)
  return { series: sorted, layout: det.layout, issues, rowsRead: n, duplicatesDropped: n - sorted.length }
}
