import { KtrdrError } from '../../../trading/index.ts'

/** IB bar-size setting per KTRDR timeframe (docs/domain.md#ib-requests). */
export const BAR_SIZE: Record<string, string> = {
  '1m': '1 min',
  '5m': '5 mins',
  '15m': '15 mins',
  '30m': '30 mins',
  '1h': '1 hour',
  '4h': '4 hours',
  '1d': '1 day',
  '1w': '1 week',
}

const DAY = 86_400_000

/** Largest span IB serves in one historical request per bar size (docs/domain.md#ib-pacing); segments never exceed it. */
export const MAX_SPAN_MS: Record<string, number> = {
  '1m': 1 * DAY,
  '5m': 7 * DAY,
  '15m': 14 * DAY,
  '30m': 30 * DAY,
  '1h': 30 * DAY,
  '4h': 120 * DAY,
  '1d': 365 * DAY,
  '1w': 730 * DAY,
}

export const INTERVAL_MS: Record<string, number> = {
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '30m': 1_800_000,
  '1h': 3_600_000,
  '4h': 14_400_000,
  '1d': DAY,
  '1w': 7 * DAY,
}

/** Legacy per-timeframe gap tolerance (docs/domain.md#ib-fetch-flow): internal holes shorter than this are normal market pauses. */
export const GAP_TOLERANCE_MS: Record<string, number> = {
  '1m': 0.5 * 3_600_000,
  '5m': 3_600_000,
  '15m': 2 * 3_600_000,
  '30m': 3 * 3_600_000,
  '1h': 6 * 3_600_000,
  '4h': 12 * 3_600_000,
  '1d': 18 * 3_600_000,
  '1w': 168 * 3_600_000,
}

export function assertIbTimeframe(tf: string): string {
  if (!BAR_SIZE[tf]) {
    throw new KtrdrError({
      code: 'IB_UNSUPPORTED_TIMEFRAME',
      message: `Timeframe "${tf}" cannot be fetched from IB: use one of ${Object.keys(BAR_SIZE).join(', ')}`,
    })
  }
  return tf
}

/**
 * IB duration string covering [start, end) (docs/domain.md#ib-requests). KTRDR floored weeks and years, which silently drops
 * up to 6 days of a 30-day segment ("4 W" = 28 days); we round up instead and filter the
 * returned bars to the segment, so no segment ever leaves a hole behind.
 */
export function durationString(startMs: number, endMs: number): string {
  const days = (endMs - startMs) / DAY
  if (days <= 1) return '1 D'
  if (days <= 365) return `${Math.ceil(days)} D`
  return `${Math.ceil(days / 365)} Y`
}

/** IB's UTC form of endDateTime ("yyyyMMdd-HH:mm:ss"), unambiguous whatever the TWS time zone. */
export function formatIbDateTime(ms: number): string {
  const d = new Date(ms)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`
}

/**
 * Parses the time of a bar or head timestamp as IB sends it: epoch seconds (formatDate=2),
 * `yyyyMMdd` for daily and larger bars (session date → 00:00 UTC, docs/domain.md#bar-storage), or
 * `yyyyMMdd[ -]HH:mm:ss` which we only ever get in UTC because we ask in UTC.
 */
export function parseIbTime(value: string): number {
  const s = value.trim()
  if (/^\d{9,}$/.test(s)) return Number(s) * 1000
  let m = /^(\d{4})(\d{2})(\d{2})$/.exec(s)
  if (m) return Date.UTC(+m[1], +m[2] - 1, +m[3])
  m = /^(\d{4})(\d{2})(\d{2})[ -]+(\d{2}):(\d{2}):(\d{2})/.exec(s)
  if (m) return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])
  return Number.NaN
}

/**
 * End of the last bar that has closed by `now`. IB also returns the bar still forming; storing
 * it would freeze a partial bar in the file (the next run sees it as present), so fetches stop
 * at the last closed bar. Weekly bars open on Mondays 00:00 UTC.
 */
export function lastClosedBarEnd(now: number, timeframe: string): number {
  return floorToBar(now, timeframe)
}

/** Open time of the bar containing `t` (UTC grid; weekly bars on Mondays). */
export function floorToBar(t: number, timeframe: string): number {
  const interval = INTERVAL_MS[timeframe]
  if (timeframe === '1w') {
    const monday = 4 * DAY // 1970-01-05, the first Monday after the epoch
    return Math.floor((t - monday) / interval) * interval + monday
  }
  return Math.floor(t / interval) * interval
}
