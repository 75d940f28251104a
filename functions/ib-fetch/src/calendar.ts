import type { InstrumentType } from './contract.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const WEEK = 7 * DAY
// 1970-01-01 was a Thursday: shift so that offsets count from Sunday 00:00 UTC.
const SUNDAY_OFFSET = 4 * DAY

/**
 * Coarse trading hours per instrument type, in UTC, used only to decide whether a hole in the
 * data can hold bars at all (IB's contract trading-hours metadata is not requested; see the gap
 * analysis in docs/domain.md#ib-fetch-flow). Forex and CME futures trade Sunday ~21:00 to Friday
 * ~21:00 UTC; US stocks with useRTH=1 trade weekdays 13:30–20:00 (EDT) or 14:30–21:00 (EST),
 * so the union 13:30–21:00 is used.
 */
export function isTradingTime(t: number, type: InstrumentType): boolean {
  const inWeek = (((t + SUNDAY_OFFSET) % WEEK) + WEEK) % WEEK
  const day = Math.floor(inWeek / DAY) // 0 = Sunday
  const hour = (inWeek % DAY) / HOUR
  if (type === 'STK') return day >= 1 && day <= 5 && hour >= 13.5 && hour < 21
  if (day === 6) return false
  if (day === 5) return hour < 21
  if (day === 0) return hour >= 21
  return true
}

/** Milliseconds of expected trading time in [start, end), sampled at `step` (≤ 1 h). */
export function tradingTimeIn(start: number, end: number, type: InstrumentType, step = 15 * 60_000): number {
  let total = 0
  for (let t = start; t < end; t += step) {
    if (isTradingTime(t, type)) total += Math.min(step, end - t)
  }
  return total
}
