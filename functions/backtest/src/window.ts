import { lowerBound } from '../../../trading/index.ts'
import type { EngineWindow } from './_types.ts'

/**
 * The bars the loop visits: [start_date, end_date] inclusive on bar open times, and not before
 * `validFrom`, the first bar whose model input is complete. [QUIRK fixed] the warm-up follows
 * the features (first finite feature row, plus the LSTM/GRU window) instead of a fixed 50 bars;
 * history before start_date feeds the indicators, so a window can start trading at start_date.
 * Returns null when nothing is left.
 */
export function resolveWindow(time: Float64Array, startMs: number, endMs: number, validFrom: number, barMs: number): EngineWindow | null {
  const first = Math.max(lowerBound(time, startMs), validFrom, 0)
  const last = lowerBound(time, endMs + 1) - 1
  if (last < first || first >= time.length) return null
  return { start: first, end: last, barMs }
}
