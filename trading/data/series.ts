import type { OhlcvSeries } from '../types.ts'

export function createSeries(symbol: string, timeframe: string, length: number): OhlcvSeries {
  return {
    symbol,
    timeframe,
    length,
    time: new Float64Array(length),
    open: new Float64Array(length),
    high: new Float64Array(length),
    low: new Float64Array(length),
    close: new Float64Array(length),
    volume: new Float64Array(length),
  }
}

/** Rows [start, end) as views (no copy). */
export function sliceSeries(s: OhlcvSeries, start: number, end: number): OhlcvSeries {
  start = Math.max(0, Math.min(start, s.length))
  end = Math.max(start, Math.min(end, s.length))
  return {
    symbol: s.symbol,
    timeframe: s.timeframe,
    length: end - start,
    time: s.time.subarray(start, end),
    open: s.open.subarray(start, end),
    high: s.high.subarray(start, end),
    low: s.low.subarray(start, end),
    close: s.close.subarray(start, end),
    volume: s.volume.subarray(start, end),
    ...(s.synthetic ? { synthetic: true } : {}),
  }
}

/** First index with time ≥ t (binary search; time is sorted). */
export function lowerBound(time: Float64Array, t: number): number {
  let lo = 0
  let hi = time.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (time[mid] < t) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Bars whose open time lies in [startMs, endMs] (inclusive; either bound may be omitted). */
export function sliceByTime(s: OhlcvSeries, startMs?: number, endMs?: number): OhlcvSeries {
  const a = startMs === undefined || Number.isNaN(startMs) ? 0 : lowerBound(s.time, startMs)
  const b = endMs === undefined || Number.isNaN(endMs) ? s.length : lowerBound(s.time, Math.floor(endMs) + 1)
  return sliceSeries(s, a, b)
}
