import type { Storage } from 'unstorage'
import { KtrdrError } from '../_errors.ts'
import type { OhlcvSeries } from '../types.ts'
import { lowerBound, sliceSeries } from './series.ts'
import { loadBars } from './store.ts'
import { timeframeMs } from './_symbols.ts'
import { formatIsoSeconds, MS_PER_DAY } from './_time.ts'

/** docs/domain.md#multi-timeframe-alignment: the common window of a multi-timeframe load must hold this many bars in every timeframe… */
export const MULTI_TF_MIN_BARS = 50
/** …and span at least this many days. */
export const MULTI_TF_MIN_DAYS = 7

export interface LoadStrategyBarsOptions {
  symbol: string
  /** Inclusive; ISO date/time, epoch ms or Date (as loadBars). */
  start?: string | number | Date
  end?: string | number | Date
  signal?: AbortSignal
}

export interface CommonCoverage {
  /** First bar open time every timeframe covers. */
  start: number
  /** Exclusive: the earliest close (last open + bar length) among the timeframes. */
  end: number
}

/**
 * The window every timeframe covers: from the latest first bar to the earliest last bar's
 * close. Null when they do not overlap at all.
 */
export function commonCoverage(series: ReadonlyMap<string, OhlcvSeries>): CommonCoverage | null {
  let start = -Infinity
  let end = Infinity
  for (const [tf, s] of series) {
    if (s.length === 0) return null
    start = Math.max(start, s.time[0])
    end = Math.min(end, s.time[s.length - 1] + timeframeMs(tf))
  }
  return end > start ? { start, end } : null
}

/**
 * docs/domain.md#multi-timeframe-alignment: restricts every timeframe to the common coverage window, so the base timeframe never
 * carries rows for which a higher timeframe has no bars (and the other way round). Fails with
 * MULTI_TF_INSUFFICIENT_COVERAGE when the overlap is shorter than 7 days or leaves fewer than 50
 * bars in some timeframe. A single timeframe is returned as it is.
 */
export function restrictToCommonCoverage(series: ReadonlyMap<string, OhlcvSeries>, symbol: string): Map<string, OhlcvSeries> {
  if (series.size < 2) return new Map(series)
  const window = commonCoverage(series)
  const out = new Map<string, OhlcvSeries>()
  if (window) {
    for (const [tf, s] of series) out.set(tf, sliceSeries(s, lowerBound(s.time, window.start), lowerBound(s.time, window.end)))
  }
  const minBars = window ? Math.min(...[...out.values()].map((s) => s.length)) : 0
  const days = window ? (window.end - window.start) / MS_PER_DAY : 0
  if (window && minBars >= MULTI_TF_MIN_BARS && days >= MULTI_TF_MIN_DAYS) return out
  throw insufficientCoverage(symbol, series, window, out, days)
}

function insufficientCoverage(
  symbol: string,
  series: ReadonlyMap<string, OhlcvSeries>,
  window: CommonCoverage | null,
  restricted: Map<string, OhlcvSeries>,
  days: number,
): KtrdrError {
  const range = (s: OhlcvSeries) => (s.length ? `${formatIsoSeconds(s.time[0])} → ${formatIsoSeconds(s.time[s.length - 1])}` : 'no bars')
  const ranges = [...series].map(([tf, s]) => `${tf} ${range(s)} (${s.length} bars)`).join('; ')
  const overlap = window
    ? `their common window ${formatIsoSeconds(window.start)} → ${formatIsoSeconds(window.end)} spans ${days.toFixed(2)} days with ${[...restricted].map(([tf, s]) => `${s.length} ${tf} bars`).join(', ')}`
    : 'they do not overlap at all'
  return new KtrdrError({
    code: 'MULTI_TF_INSUFFICIENT_COVERAGE',
    message: `Multi-timeframe data for ${symbol} does not overlap enough: ${ranges}; ${overlap} (need at least ${MULTI_TF_MIN_DAYS} days and ${MULTI_TF_MIN_BARS} bars in every timeframe). Fetch the missing history (ib-fetch / ktrdr data) or widen the date range.`,
    details: {
      symbol,
      timeframes: Object.fromEntries(
        [...series].map(([tf, s]) => [
          tf,
          {
            start: s.length ? formatIsoSeconds(s.time[0]) : null,
            end: s.length ? formatIsoSeconds(s.time[s.length - 1]) : null,
            bars: s.length,
          },
        ]),
      ),
      common_coverage: window
        ? {
            start: formatIsoSeconds(window.start),
            end: formatIsoSeconds(window.end),
            days,
            min_bars: Math.min(...[...restricted.values()].map((s) => s.length)),
          }
        : null,
    },
  })
}

/**
 * Bars of one symbol in every timeframe a strategy uses, restricted to their common coverage
 * (docs/domain.md#multi-timeframe-alignment). Training and backtest load through here, so both see the same rows.
 */
export async function loadStrategyBars(
  data: Storage,
  strategy: { training_data: { timeframes: readonly string[] } },
  options: LoadStrategyBarsOptions,
): Promise<Map<string, OhlcvSeries>> {
  const series = new Map<string, OhlcvSeries>()
  for (const timeframe of strategy.training_data.timeframes) {
    series.set(
      timeframe,
      await loadBars(data, { symbol: options.symbol, timeframe, start: options.start, end: options.end, signal: options.signal }),
    )
  }
  return restrictToCommonCoverage(series, options.symbol)
}
