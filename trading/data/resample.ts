import { KtrdrError } from '../_errors.ts'
import type { OhlcvSeries } from '../types.ts'
import { createSeries, sliceSeries } from './series.ts'
import { assertTimeframe, timeframeMs } from './_symbols.ts'
import { MS_PER_DAY } from './_time.ts'

/**
 * Which clock the buckets follow. `utc`: the UTC grid (4h at 00/04/…, days at 00:00, weeks from
 * Monday). `fx`: the UTC grid, but Sunday's bars (the FX week opens Sunday evening UTC) belong to
 * Monday's day and week, so no stub Sunday bar appears. `us_equity`: days and weeks as `utc` (a US
 * session, 13:30–21:00 UTC at the latest, never crosses midnight UTC), intraday buckets counted
 * from each day's first bar (the session open), so 4h bars are 13:30–17:30 and 17:30–close rather
 * than cutting the session at 16:00 and 20:00.
 */
export type SessionCalendar = 'utc' | 'fx' | 'us_equity'
export const SESSION_CALENDARS: readonly SessionCalendar[] = ['utc', 'fx', 'us_equity']

const WEEK = 7 * MS_PER_DAY
/** 1970-01-05, the first Monday of the epoch. */
const MONDAY = 4 * MS_PER_DAY

function invalid(message: string): never {
  throw new KtrdrError({ code: 'RESAMPLE_INVALID', message })
}

/** The calendar a stored dataset's metadata implies (ib-fetch's instrument type, the generator's preset). */
export function sessionFor(meta: { preset?: unknown; type?: unknown; sec_type?: unknown } | undefined): SessionCalendar {
  const kind = `${meta?.preset ?? ''} ${meta?.type ?? ''} ${meta?.sec_type ?? ''}`.toLowerCase()
  if (/equity|stock|\bstk\b/.test(kind)) return 'us_equity'
  if (/forex|\bfx\b|cash/.test(kind)) return 'fx'
  return 'utc'
}

/**
 * Coarser bars from finer ones: open of the first bar in each bucket, highest high, lowest low,
 * close of the last, summed volume (−1, "unknown", when any bar's volume is unknown). Each output
 * bar is stamped with its bucket's start. A last bucket the data does not fill yet is kept as it is.
 */
export function resampleSeries(series: OhlcvSeries, to: string, session: SessionCalendar = 'utc'): OhlcvSeries {
  const from = assertTimeframe(series.timeframe)
  const target = assertTimeframe(to)
  const src = timeframeMs(from)
  const dst = timeframeMs(target)
  if (dst <= src) invalid(`Resample to a coarser timeframe than ${from}: ${target} is not`)
  if (dst % src !== 0) invalid(`${target} is not a whole number of ${from} bars`)
  if (!SESSION_CALENDARS.includes(session)) invalid(`session must be one of ${SESSION_CALENDARS.join(', ')}`)

  const bucketOf = (t: number): number => {
    let day = Math.floor(t / MS_PER_DAY) * MS_PER_DAY
    // FX: Sunday (epoch day 3 mod 7) joins Monday for daily and weekly bars.
    const sunday = Math.floor(t / MS_PER_DAY) % 7 === 3
    if (session === 'fx' && sunday && dst >= MS_PER_DAY) day += MS_PER_DAY
    if (dst === WEEK) return Math.floor((day - MONDAY) / WEEK) * WEEK + MONDAY
    if (dst >= MS_PER_DAY) return Math.floor(day / dst) * dst
    return Math.floor(t / dst) * dst
  }

  const n = series.length
  const out = createSeries(series.symbol, target, n)
  let m = -1
  let current = Number.NaN
  let sessionOpen = Number.NaN
  let sessionDay = Number.NaN
  for (let i = 0; i < n; i++) {
    const t = series.time[i]
    let b: number
    if (session === 'us_equity' && dst < MS_PER_DAY) {
      const day = Math.floor(t / MS_PER_DAY)
      if (day !== sessionDay) {
        sessionDay = day
        sessionOpen = t
      }
      b = sessionOpen + Math.floor((t - sessionOpen) / dst) * dst
    } else b = bucketOf(t)
    if (b !== current) {
      m++
      current = b
      out.time[m] = b
      out.open[m] = series.open[i]
      out.high[m] = series.high[i]
      out.low[m] = series.low[i]
      out.close[m] = series.close[i]
      out.volume[m] = series.volume[i]
      continue
    }
    if (series.high[i] > out.high[m]) out.high[m] = series.high[i]
    if (series.low[i] < out.low[m]) out.low[m] = series.low[i]
    out.close[m] = series.close[i]
    const v = series.volume[i]
    out.volume[m] = v < 0 || out.volume[m] < 0 ? -1 : out.volume[m] + v
  }
  const result = sliceSeries(out, 0, m + 1)
  return series.synthetic ? { ...result, synthetic: true } : result
}
