import type { GatewayRouteContext } from '../../runtime/gateway/index.ts'
import { loadBars, lowerBound } from '../../trading/index.ts'
import type { FoldWindow } from './folds.ts'

const DAY = 86_400_000

/** Bar open times (epoch ms) of each symbol, read from the data mount the children read. */
export async function barTimes(ctx: GatewayRouteContext, symbols: string[], timeframe: string): Promise<Map<string, Float64Array>> {
  const out = new Map<string, Float64Array>()
  // strict: false: a bad row is the children's to report; here only the timestamps matter.
  for (const symbol of symbols) out.set(symbol, (await loadBars(ctx.storage.data, { symbol, timeframe, strict: false })).time)
  return out
}

/** Bars of `time` inside the inclusive UTC dates [start, end] (a date-only end covers its whole day). */
export function barsBetween(time: Float64Array, start: string, end: string): number {
  const from = Date.parse(`${start}T00:00:00Z`)
  const to = Date.parse(`${end}T00:00:00Z`) + DAY
  return lowerBound(time, to) - lowerBound(time, from)
}

/** Why a fold cannot run: a window (training or test) in which some symbol has no bar; null when it can. */
export function emptyWindow(fold: FoldWindow, times: Map<string, Float64Array>, timeframe: string): string | null {
  for (const phase of ['test', 'train'] as const) {
    const w = fold[phase]
    const empty = [...times].filter(([, time]) => barsBetween(time, w.start, w.end) === 0).map(([symbol]) => symbol)
    if (empty.length)
      return `no ${empty.join(', ')} ${timeframe} bars in the ${phase === 'test' ? 'test' : 'training'} window ${w.start} → ${w.end}`
  }
  return null
}
