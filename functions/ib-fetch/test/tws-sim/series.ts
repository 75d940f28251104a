import { isTradingTime } from '../../src/calendar.ts'
import type { InstrumentType } from '../../src/contract.ts'

/** Deterministic pseudo-random in [0, 1) from a seed and a bar time: the same bar always has the same prices. */
function hash01(seed: number, t: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0
  let x = Math.floor(t / 1000)
  for (let i = 0; i < 2; i++) {
    h = Math.imul(h ^ (x & 0xffff), 0x85ebca6b) >>> 0
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0
    x = Math.floor(x / 65536)
  }
  h ^= h >>> 16
  return (h >>> 0) / 4294967296
}

export interface SimBar {
  time: number
  open: number
  high: number
  low: number
  close: number
  volume: number
}

export interface SeededSeries {
  seed: number
  /** First bar IB has for this instrument (head timestamp). */
  head: number
  type: InstrumentType
}

/** Bar opening at `t` of the seeded series (prices depend only on seed and t). */
export function barAt(series: SeededSeries, t: number, intervalMs: number): SimBar {
  const base = 1.1 + 0.05 * Math.sin(t / (86_400_000 * 30)) + 0.01 * Math.sin(t / 3_600_000 / 7)
  const r1 = hash01(series.seed, t)
  const r2 = hash01(series.seed + 1, t)
  const r3 = hash01(series.seed + 2, t)
  const open = round5(base + (r1 - 0.5) * 0.002)
  const close = round5(base + (r2 - 0.5) * 0.002)
  const high = round5(Math.max(open, close) + r3 * 0.001)
  const low = round5(Math.min(open, close) - r3 * 0.001)
  const volume = series.type === 'CASH' ? -1 : Math.round(1000 + r3 * 10_000 * (intervalMs / 3_600_000))
  return { time: t, open, high, low, close, volume }
}

/** Every bar of the series with open time in [start, end), skipping closed market time. */
export function barsBetween(series: SeededSeries, start: number, end: number, intervalMs: number): SimBar[] {
  const out: SimBar[] = []
  // Like IB, the bar that contains the head timestamp is the first one (a 14:30 first trade still
  // has a daily bar dated that day). Weekly bars open on Mondays, not on epoch multiples (Thursday).
  const monday = intervalMs === 7 * 86_400_000 ? 4 * 86_400_000 : 0
  const first = Math.floor((series.head - monday) / intervalMs) * intervalMs + monday
  let t = Math.ceil((Math.max(start, first) - monday) / intervalMs) * intervalMs + monday
  for (; t < end; t += intervalMs) {
    if (intervalMs >= 86_400_000 ? isTradingDay(t, series.type) : isTradingTime(t, series.type)) out.push(barAt(series, t, intervalMs))
  }
  return out
}

function isTradingDay(t: number, type: InstrumentType): boolean {
  const day = new Date(t).getUTCDay()
  if (type === 'STK') return day >= 1 && day <= 5
  return day >= 1 && day <= 5
}

function round5(x: number): number {
  return Math.round(x * 1e5) / 1e5
}
