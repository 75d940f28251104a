import { TIMEFRAMES, TIMEFRAME_MINUTES, type Timeframe } from '../types.ts'
import { KtrdrError } from '../_errors.ts'

export const SYMBOL_RE = /^[A-Za-z0-9_\-.]+$/

export function isValidSymbol(symbol: unknown): symbol is string {
  return typeof symbol === 'string' && symbol.length > 0 && symbol.length <= 20 && SYMBOL_RE.test(symbol)
}

export function isTimeframe(tf: unknown): tf is Timeframe {
  return typeof tf === 'string' && (TIMEFRAMES as readonly string[]).includes(tf)
}

export function assertSymbol(symbol: unknown): string {
  if (!isValidSymbol(symbol)) {
    throw new KtrdrError({
      code: 'DATA_INVALID_SYMBOL',
      message: `Invalid symbol ${JSON.stringify(symbol)}: use 1-20 characters from A-Z a-z 0-9 _ - .`,
    })
  }
  return symbol
}

export function assertTimeframe(tf: unknown): Timeframe {
  if (!isTimeframe(tf)) {
    throw new KtrdrError({
      code: 'DATA_INVALID_TIMEFRAME',
      message: `Invalid timeframe ${JSON.stringify(tf)}: use one of ${TIMEFRAMES.join(', ')}`,
    })
  }
  return tf
}

/** Nominal bar duration in ms; a bar opened at t closes at t + timeframeMs(tf). */
export function timeframeMs(tf: string): number {
  const minutes = TIMEFRAME_MINUTES[tf as Timeframe]
  if (!minutes)
    throw new KtrdrError({
      code: 'DATA_INVALID_TIMEFRAME',
      message: `Unknown timeframe "${tf}": use one of ${TIMEFRAMES.join(', ')}`,
    })
  return minutes * 60_000
}

export function datasetKey(symbol: string, timeframe: string): string {
  return `${symbol}_${timeframe}.csv`
}

export function metaKey(symbol: string, timeframe: string): string {
  return `${symbol}_${timeframe}.meta.json`
}

/** Splits `EURUSD_1h.csv` into its parts; undefined for other keys. Symbols may contain `_`. */
export function parseDatasetKey(key: string): { symbol: string; timeframe: Timeframe } | undefined {
  const m = /^(.+)_([0-9]+[mhdw])\.csv$/.exec(key)
  if (!m || !isValidSymbol(m[1]) || !isTimeframe(m[2])) return undefined
  return { symbol: m[1], timeframe: m[2] }
}
