import type { OhlcvSeries } from '../types.ts'
import { createSeries } from './series.ts'

/**
 * Union of two series by timestamp: incoming rows replace existing rows with the same time,
 * duplicates inside either input keep their last occurrence, the result is sorted.
 * Existing history is never truncated (docs/domain.md#bar-storage; KTRDR truncated it, see docs/decisions.md#ib-fetch).
 */
export function mergeBars(existing: OhlcvSeries | undefined, incoming: OhlcvSeries): OhlcvSeries {
  const a = existing && existing.length ? sortedUnique(existing) : undefined
  const b = sortedUnique(incoming)
  if (!a) return b
  const out = createSeries(incoming.symbol || a.symbol, incoming.timeframe || a.timeframe, a.length + b.length)
  let i = 0,
    j = 0,
    k = 0
  while (i < a.length || j < b.length) {
    let src: OhlcvSeries, idx: number
    if (j >= b.length || (i < a.length && a.time[i] < b.time[j])) {
      src = a
      idx = i++
    } else {
      if (i < a.length && a.time[i] === b.time[j]) i++
      src = b
      idx = j++
    }
    copyRow(src, idx, out, k++)
  }
  return truncate(out, k, Boolean(existing?.synthetic && incoming.synthetic))
}

/** Stable sort by time, last occurrence of a duplicate wins. Returns the input when already clean. */
export function sortedUnique(s: OhlcvSeries): OhlcvSeries {
  let clean = true
  for (let i = 1; i < s.length; i++)
    if (!(s.time[i] > s.time[i - 1])) {
      clean = false
      break
    }
  if (clean) return s
  const idx = Array.from({ length: s.length }, (_, i) => i).sort((x, y) => s.time[x] - s.time[y] || x - y)
  const out = createSeries(s.symbol, s.timeframe, s.length)
  let k = 0
  for (let p = 0; p < idx.length; p++) {
    if (p + 1 < idx.length && s.time[idx[p + 1]] === s.time[idx[p]]) continue
    copyRow(s, idx[p], out, k++)
  }
  return truncate(out, k, Boolean(s.synthetic))
}

function copyRow(src: OhlcvSeries, i: number, dst: OhlcvSeries, k: number) {
  dst.time[k] = src.time[i]
  dst.open[k] = src.open[i]
  dst.high[k] = src.high[i]
  dst.low[k] = src.low[i]
  dst.close[k] = src.close[i]
  dst.volume[k] = src.volume[i]
}

function truncate(s: OhlcvSeries, n: number, synthetic: boolean): OhlcvSeries {
  return {
    symbol: s.symbol,
    timeframe: s.timeframe,
    length: n,
    time: s.time.slice(0, n),
    open: s.open.slice(0, n),
    high: s.high.slice(0, n),
    low: s.low.slice(0, n),
    close: s.close.slice(0, n),
    volume: s.volume.slice(0, n),
    ...(synthetic ? { synthetic: true } : {}),
  }
}
