import type { Storage } from 'unstorage'
import type { OhlcvSeries, Timeframe } from '../types.ts'
import { KtrdrError } from '../_errors.ts'
import { encodeOhlcvCsv, parseOhlcvCsv, summarizeOhlcvCsv, validateSeries, type DataIssue } from './csv.ts'
import { mergeBars } from './merge.ts'
import { sliceByTime } from './series.ts'
import { assertSymbol, assertTimeframe, datasetKey, metaKey, parseDatasetKey } from './_symbols.ts'
import { formatIsoSeconds, isDateOnly, MS_PER_DAY, parseDateInput } from './_time.ts'

/** Sidecar written next to a dataset; `synthetic: true` marks generator output. */
export interface DatasetMeta {
  synthetic?: boolean
  generator?: string
  seed?: number
  preset?: string
  source?: string
  [key: string]: unknown
}

export interface LoadBarsOptions {
  symbol: string
  timeframe: string
  /** Inclusive; ISO date/time, epoch ms or Date. A date-only end covers that whole day. */
  start?: string | number | Date
  end?: string | number | Date
  /** Throw DATA_INVALID on bad rows (default true). With false, bad rows are dropped/kept as parsed. */
  strict?: boolean
  signal?: AbortSignal
}

export interface DatasetInfo {
  symbol: string
  timeframe: Timeframe
  key: string
  start: string | null
  end: string | null
  bars: number
  synthetic: boolean
  meta?: DatasetMeta
}

export function dataNotFound(symbol: string, timeframe: string, detail = ''): KtrdrError {
  return new KtrdrError({
    code: 'DATA_NOT_FOUND',
    message: `No cached data for ${symbol} ${timeframe}${detail}: run ib-fetch or \`ktrdr data import\` (or \`ktrdr data generate\`) first`,
    details: { symbol, timeframe },
  })
}

export function dataInvalid(symbol: string, timeframe: string, issues: DataIssue[]): KtrdrError {
  const shown = issues
    .slice(0, 10)
    .map((i) => `line ${i.line}: ${i.message}`)
    .join('; ')
  return new KtrdrError({
    code: 'DATA_INVALID',
    message: `${datasetKey(symbol, timeframe)} has ${issues.length}${issues.length >= 100 ? '+' : ''} bad rows (${shown}): fix or re-import the file`,
    details: { symbol, timeframe, issues },
  })
}

function toBytes(raw: unknown): Uint8Array | undefined {
  if (raw == null) return undefined
  if (raw instanceof Uint8Array) return raw
  if (typeof raw === 'string') return new TextEncoder().encode(raw)
  if (raw instanceof ArrayBuffer) return new Uint8Array(raw)
  if (ArrayBuffer.isView(raw)) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength)
  return undefined
}

export function resolveRange(start?: string | number | Date, end?: string | number | Date): { startMs?: number; endMs?: number } {
  const startMs = start === undefined || start === '' ? undefined : parseDateInput(start)
  let endMs = end === undefined || end === '' ? undefined : parseDateInput(end)
  if (startMs !== undefined && Number.isNaN(startMs)) throw badDate('start', start)
  if (endMs !== undefined && Number.isNaN(endMs)) throw badDate('end', end)
  if (endMs !== undefined && isDateOnly(end)) endMs += MS_PER_DAY - 1
  if (startMs !== undefined && endMs !== undefined && startMs > endMs) {
    throw new KtrdrError({
      code: 'DATA_INVALID_RANGE',
      message: `start ${String(start)} is after end ${String(end)}`,
    })
  }
  return { startMs, endMs }
}

function badDate(which: string, value: unknown): KtrdrError {
  return new KtrdrError({
    code: 'DATA_INVALID_DATE',
    message: `Invalid ${which} date ${JSON.stringify(value)}: use YYYY-MM-DD, an ISO timestamp or epoch milliseconds`,
  })
}

/** Cache-only load of `<SYMBOL>_<tf>.csv` from the data mount, filtered to [start, end]. */
export async function loadBars(storage: Storage, options: LoadBarsOptions): Promise<OhlcvSeries> {
  const symbol = assertSymbol(options.symbol)
  const timeframe = assertTimeframe(options.timeframe)
  const { startMs, endMs } = resolveRange(options.start, options.end)
  options.signal?.throwIfAborted()
  const raw = toBytes(await storage.getItemRaw(datasetKey(symbol, timeframe)))
  if (!raw) throw dataNotFound(symbol, timeframe)
  options.signal?.throwIfAborted()
  const { series, issues } = parseOhlcvCsv(raw, { symbol, timeframe })
  if (issues.length && options.strict !== false) throw dataInvalid(symbol, timeframe, issues)
  const meta = await readMeta(storage, symbol, timeframe)
  if (meta?.synthetic) series.synthetic = true
  const out = sliceByTime(series, startMs, endMs)
  if (out.length === 0 && series.length > 0 && (startMs !== undefined || endMs !== undefined)) {
    throw dataNotFound(
      symbol,
      timeframe,
      ` in ${startMs === undefined ? '…' : formatIsoSeconds(startMs)} → ${endMs === undefined ? '…' : formatIsoSeconds(endMs)} (stored: ${formatIsoSeconds(series.time[0])} → ${formatIsoSeconds(series.time[series.length - 1])})`,
    )
  }
  return out
}

export async function readMeta(storage: Storage, symbol: string, timeframe: string): Promise<DatasetMeta | undefined> {
  const meta = await storage.getItem(metaKey(symbol, timeframe))
  if (meta && typeof meta === 'object') return meta as DatasetMeta
  if (typeof meta === 'string') {
    try {
      return JSON.parse(meta) as DatasetMeta
    } catch {
      return undefined
    }
  }
  return undefined
}

export interface SaveBarsOptions {
  /** Merge into what is stored (new rows win) instead of replacing it. Default false. */
  merge?: boolean
  /** Sidecar metadata; synthetic series get `{synthetic: true}` at least. */
  meta?: DatasetMeta
}

/**
 * Validates and writes a series. The fs driver writes tmp+rename, so readers never see a
 * half-written file; invalid series are refused before anything is written.
 */
export async function saveBars(
  storage: Storage,
  series: OhlcvSeries,
  options: SaveBarsOptions = {},
): Promise<{ key: string; bars: number }> {
  const symbol = assertSymbol(series.symbol)
  const timeframe = assertTimeframe(series.timeframe)
  let out = series
  if (options.merge) {
    const raw = toBytes(await storage.getItemRaw(datasetKey(symbol, timeframe)))
    if (raw) {
      const existing = parseOhlcvCsv(raw, { symbol, timeframe }).series
      out = mergeBars(existing, series)
    }
  }
  const issues = validateSeries(out)
  if (issues.length) throw dataInvalid(symbol, timeframe, issues)
  const key = datasetKey(symbol, timeframe)
  await storage.setItemRaw(key, encodeOhlcvCsv(out))
  const meta = options.meta ?? (series.synthetic ? { synthetic: true } : undefined)
  if (meta) await storage.setItem(metaKey(symbol, timeframe), JSON.stringify(meta))
  else if (!series.synthetic && (await storage.hasItem(metaKey(symbol, timeframe)))) {
    // Real bars replace a synthetic set: the marker must not outlive the data it describes.
    const old = await readMeta(storage, symbol, timeframe)
    if (old?.synthetic) await storage.removeItem(metaKey(symbol, timeframe))
  }
  return { key, bars: out.length }
}

/**
 * What the data mount holds: one entry per `<SYMBOL>_<tf>.csv`. Reads each file once but parses
 * only its first and last data lines; `bars` counts non-empty data lines (files saveBars wrote
 * have no unparseable rows; loadBars names any such rows in hand-placed files).
 */
export async function listDatasets(storage: Storage, filter: { symbol?: string; timeframe?: string } = {}): Promise<DatasetInfo[]> {
  const keys = await storage.getKeys()
  const out: DatasetInfo[] = []
  for (const key of keys.sort()) {
    const parsed = parseDatasetKey(key)
    if (!parsed) continue
    if (filter.symbol && parsed.symbol !== filter.symbol) continue
    if (filter.timeframe && parsed.timeframe !== filter.timeframe) continue
    const raw = toBytes(await storage.getItemRaw(key))
    if (!raw) continue
    // Only the ends and a line count: a full parse of a 1M-row file costs over a second.
    let summary = summarizeOhlcvCsv(raw)
    if (!summary) {
      const { series } = parseOhlcvCsv(raw, { ...parsed, maxIssues: 0 })
      summary = { rows: series.length, start: series.time[0], end: series.time[series.length - 1] }
    }
    const meta = await readMeta(storage, parsed.symbol, parsed.timeframe)
    out.push({
      ...parsed,
      key,
      start: summary.rows ? formatIsoSeconds(summary.start) : null,
      end: summary.rows ? formatIsoSeconds(summary.end) : null,
      bars: summary.rows,
      synthetic: Boolean(meta?.synthetic),
      ...(meta ? { meta } : {}),
    })
  }
  return out
}
