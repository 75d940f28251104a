import type { SimHistoricalRequest } from './server.ts'

// Wire-level helpers of the TWS simulator: IB's date formats, bar sizes, and IB's pacing judgement.

export const MAX_VERSION = 193
export const INTERVAL: Record<string, number> = {
  '1 min': 60_000,
  '5 mins': 300_000,
  '15 mins': 900_000,
  '30 mins': 1_800_000,
  '1 hour': 3_600_000,
  '4 hours': 14_400_000,
  '1 day': 86_400_000,
  '1 week': 7 * 86_400_000,
}
export const UNIT: Record<string, number> = { S: 1000, D: 86_400_000, W: 7 * 86_400_000, M: 30 * 86_400_000, Y: 365 * 86_400_000 }

/** IB's rules as IB would judge them (the 2 s spacing is our own, stricter rule, checked by tests). */
export function judgePacing(requests: SimHistoricalRequest[], req: SimHistoricalRequest): string[] {
  const out: string[] = []
  const now = req.at
  const recent = requests.filter((r) => r.at > now - 600_000)
  if (recent.length >= 60) out.push('more than 60 requests in 10 minutes')
  const contract = `${req.symbol}|${req.secType}|${req.exchange}`
  const burst = requests.filter((r) => `${r.symbol}|${r.secType}|${r.exchange}` === contract && r.at > now - 2000)
  if (burst.length >= 6) out.push('6 or more requests for one contract within 2 seconds')
  const identical = requests.some(
    (r) =>
      r.at > now - 15_000 &&
      r.symbol === req.symbol &&
      r.secType === req.secType &&
      r.endDateTime === req.endDateTime &&
      r.durationStr === req.durationStr &&
      r.barSize === req.barSize &&
      r.whatToShow === req.whatToShow,
  )
  if (identical) out.push('identical request within 15 seconds')
  return out
}

export function formatIbUtc(ms: number): string {
  const d = new Date(ms)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`
}

export function formatConnTime(ms: number): string {
  return formatIbUtc(ms).replace('-', ' ') + ' UTC'
}

/** endDateTime as IB accepts it: "yyyyMMdd-HH:mm:ss" (UTC) or "yyyyMMdd HH:mm:ss UTC". */
export function parseEnd(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})[- ](\d{2}):(\d{2}):(\d{2})(?: (UTC|GMT))?$/.exec(s.trim())
  if (!m) return Number.NaN
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])
}

export function round(x: number): number {
  return Math.round(x * 1e5) / 1e5
}
