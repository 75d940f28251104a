// Deterministic OHLCV fixtures for the indicator tests (kept tiny: the CI box has 2 cores).
import { mulberry32 as rng } from '../../rng.ts'
import type { OhlcvSeries } from '../../types.ts'

export { rng }

/** A positive random walk with consistent OHLC (low ≤ open, close ≤ high) and positive volume. */
export function randomBars(n: number, seed = 1, start = 100): OhlcvSeries {
  const r = rng(seed)
  const s = emptyBars(n)
  let p = start
  for (let i = 0; i < n; i++) {
    const o = p
    p = Math.max(0.01, p * (1 + (r() - 0.5) * 0.04))
    s.open[i] = o
    s.close[i] = p
    s.high[i] = Math.max(o, p) * (1 + r() * 0.01)
    s.low[i] = Math.min(o, p) * (1 - r() * 0.01)
    s.volume[i] = Math.round(100 + r() * 1000)
    s.time[i] = Date.UTC(2024, 0, 1) + i * 3_600_000
  }
  return s
}

export function emptyBars(n: number): OhlcvSeries {
  return {
    symbol: 'TEST',
    timeframe: '1h',
    length: n,
    time: new Float64Array(n),
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
  }
}

/** Bars from explicit columns; open defaults to the previous close, volume to 1000. */
export function barsFrom(cols: { close: number[]; high?: number[]; low?: number[]; open?: number[]; volume?: number[] }): OhlcvSeries {
  const n = cols.close.length
  const s = emptyBars(n)
  for (let i = 0; i < n; i++) {
    const c = cols.close[i]
    s.close[i] = c
    s.open[i] = cols.open?.[i] ?? (i > 0 ? cols.close[i - 1] : c)
    s.high[i] = cols.high?.[i] ?? Math.max(c, s.open[i])
    s.low[i] = cols.low?.[i] ?? Math.min(c, s.open[i])
    s.volume[i] = cols.volume?.[i] ?? 1000
    s.time[i] = i * 60_000
  }
  return s
}

/** A copy whose bars from `from` on are replaced by another series' bars (for look-ahead tests). */
export function spliceFuture(base: OhlcvSeries, other: OhlcvSeries, from: number): OhlcvSeries {
  const out = emptyBars(base.length)
  for (const k of ['time', 'open', 'high', 'low', 'close', 'volume'] as const) {
    out[k].set(base[k])
    for (let i = from; i < base.length; i++) out[k][i] = other[k][i]
  }
  return out
}

export const arr = (a: ArrayLike<number>): number[] => Array.from(a)

/** Element-wise closeness with NaN == NaN; returns the first mismatch for a readable failure. */
export function firstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, relTol = 1e-9, absTol = 1e-9): string | undefined {
  if (actual.length !== expected.length) return `length ${actual.length} vs ${expected.length}`
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]
    const e = expected[i]
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) !== Number.isNaN(a)) return `[${i}] ${a} vs ${e}`
      continue
    }
    if (Math.abs(a - e) > absTol + relTol * Math.abs(e)) return `[${i}] ${a} vs ${e}`
  }
  return undefined
}
