import type { InstrumentType } from './contract.ts'
import { tradingTimeIn } from './calendar.ts'
import { GAP_TOLERANCE_MS, INTERVAL_MS, MAX_SPAN_MS } from './timeframes.ts'

export type FetchMode = 'tail' | 'backfill' | 'full'
export type GapKind = 'leading' | 'trailing' | 'internal' | 'all'
export type GapClass = 'NO_DATA' | 'MARKET_CLOSURE' | 'UNEXPECTED' | 'LONG'

/** A half-open time range [start, end) of bar open times that should be fetched. */
export interface Gap {
  start: number
  end: number
  kind: GapKind
  classification: GapClass
}

export interface GapAnalysisInput {
  /** Sorted bar open times already stored (epoch ms). */
  times: ArrayLike<number>
  start: number
  end: number
  timeframe: string
  mode: FetchMode
  instrumentType: InstrumentType
  /** IB's head timestamp (bar-aligned), when known. */
  headMs?: number
}

const DAY = 86_400_000

/**
 * docs/domain.md#ib-fetch-flow gap analysis. Leading and trailing gaps are fetched when they can hold at least one bar
 * of trading time. Internal gaps are analysed in tail mode as docs/domain.md#ib-fetch-flow says, and in backfill/full
 * mode too when they are longer than one request span: such a hole can only come from an
 * interrupted earlier fetch, and finding it is what makes a crashed backfill resumable.
 */
export function analyzeGaps(input: GapAnalysisInput): Gap[] {
  const { times, start, end, timeframe, mode, instrumentType } = input
  const interval = INTERVAL_MS[timeframe]
  if (!(end > start)) return []
  const n = times.length
  const gaps: Gap[] = []
  const canHoldBars = (a: number, b: number) =>
    b - a >= interval && tradingTimeIn(a, b, instrumentType, Math.min(interval, 15 * 60_000)) > 0
  if (n === 0) {
    if (canHoldBars(start, end)) gaps.push({ start, end, kind: 'all', classification: 'NO_DATA' })
    return gaps
  }
  const first = times[0]
  const last = times[n - 1]
  // A short hole between IB's head timestamp and the first stored bar is what IB has (a
  // holiday, a late first trade): fetching it again on every run would return nothing forever.
  const atHead = input.headMs !== undefined && start <= input.headMs
  if (
    start < first &&
    canHoldBars(start, Math.min(first, end)) &&
    !(atHead && !classifyInternal(start, Math.min(first, end), timeframe, instrumentType))
  ) {
    gaps.push({ start, end: Math.min(first, end), kind: 'leading', classification: 'NO_DATA' })
  }
  const minLong = mode === 'tail' ? 0 : MAX_SPAN_MS[timeframe]
  const threshold = 1.5 * interval
  // Only holes overlapping the requested range matter.
  for (let i = 1; i < n; i++) {
    const prev = times[i - 1]
    const next = times[i]
    if (next - prev <= threshold) continue
    const gs = Math.max(prev + interval, start)
    const ge = Math.min(next, end)
    if (ge <= gs) continue
    if (ge - gs < minLong) continue
    const cls = classifyInternal(gs, ge, timeframe, instrumentType)
    if (cls) gaps.push({ start: gs, end: ge, kind: 'internal', classification: cls })
  }
  const trailingStart = Math.max(last + interval, start)
  if (end > trailingStart && canHoldBars(trailingStart, end)) {
    gaps.push({ start: trailingStart, end, kind: 'trailing', classification: 'NO_DATA' })
  }
  return gaps
}

/**
 * docs/domain.md#ib-fetch-flow classification of an internal hole: > 7 days is always fetched; otherwise holes that
 * hold no trading time (weekends, nights of a stock) or at most one session of it (holidays,
 * within the legacy tolerance) are expected and skipped; > 72 h is a market closure worth a
 * look; the rest is unexpected and fetched. Returns undefined for a skipped hole.
 */
export function classifyInternal(start: number, end: number, timeframe: string, type: InstrumentType): GapClass | undefined {
  const span = end - start
  if (span > 7 * DAY) return 'LONG'
  const interval = INTERVAL_MS[timeframe]
  const trading = tradingTimeIn(start, end, type, Math.min(interval, 15 * 60_000))
  const holiday = type === 'STK' ? 7.5 * 3_600_000 : DAY
  if (trading < interval || trading <= Math.max(GAP_TOLERANCE_MS[timeframe], holiday)) return undefined
  return span > 72 * 3_600_000 ? 'MARKET_CLOSURE' : 'UNEXPECTED'
}
