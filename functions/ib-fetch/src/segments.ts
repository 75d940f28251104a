import type { FetchMode, Gap } from './gaps.ts'
import { MAX_SPAN_MS } from './timeframes.ts'

export interface Segment {
  start: number
  end: number
}

/**
 * docs/domain.md#ib-pacing: walk every gap from its start in steps of IB's maximum span for the bar size, then
 * order the segments — tail newest first (the most recent bars matter most if we are cut
 * short), backfill/full oldest first (history grows contiguously from the head).
 */
export function segmentGaps(gaps: Gap[], timeframe: string, mode: FetchMode): Segment[] {
  const span = MAX_SPAN_MS[timeframe]
  const out: Segment[] = []
  for (const gap of gaps) {
    for (let s = gap.start; s < gap.end; s += span) out.push({ start: s, end: Math.min(s + span, gap.end) })
  }
  out.sort((a, b) => a.start - b.start)
  if (mode === 'tail') out.reverse()
  return out
}
